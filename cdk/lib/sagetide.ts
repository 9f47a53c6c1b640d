import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import * as sam from 'aws-cdk-lib/aws-sam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as cfninc from 'aws-cdk-lib/cloudformation-include';

/** The repository this package lives in (`cdk/dist/lib` when compiled). */
const repository = path.resolve(__dirname, '..', '..', '..');

/** CDK's property names (`destinationConfig`) back to the template's (`DestinationConfig`). */
function asWritten(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return value; // a scalar, or a token such as a Fn::GetAtt, which CDK resolves itself
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key[0].toUpperCase() + key.slice(1), asWritten(inner)]),
  );
}

export interface SagetideProps {
  /**
   * The folder that holds `<function>/bootstrap.zip` for every function, as `scripts/package`
   * builds them (arm64 for the template's `Architectures`).
   * @default the repository's `target/lambda`
   */
  readonly codeDirectory?: string;
  /**
   * Values for template.yaml's parameters (`DryRun`, `ScheduleRate`, `ConfigDocument`, ...);
   * the ones given here are fixed in the synthesized template, the others stay parameters
   * that `cdk deploy --parameters` can set.
   */
  readonly parameters?: Record<string, string>;
}

/**
 * sagetide in a CDK app: `template.yaml` included as it is (one definition of every resource
 * and permission, the one `sam deploy` uses), with each function's code taken from its zip
 * as an asset instead of SAM's build.
 */
export class Sagetide extends Construct {
  /** The included template: `getResource('Table')`, `getOutput(...)` and so on. */
  readonly template: cfninc.CfnInclude;
  /** The functions, by binary name (`scheduler`, `pool-metrics`, ...). */
  readonly functions: Record<string, sam.CfnFunction> = {};

  constructor(scope: Construct, id: string, props: SagetideProps = {}) {
    super(scope, id);
    this.template = new cfninc.CfnInclude(this, 'Template', {
      templateFile: path.join(repository, 'template.yaml'),
      parameters: props.parameters,
    });
    const codeDirectory = props.codeDirectory ?? path.join(repository, 'target', 'lambda');
    // scripts/package notes the architecture it built for; the template deploys arm64.
    const marker = path.join(codeDirectory, 'architecture');
    const architecture = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim() : 'arm64';
    if (architecture !== 'arm64') {
      throw new Error(
        `the zips in ${codeDirectory} are ${architecture}, but the functions run on arm64: ` +
          'run `rustup target add aarch64-unknown-linux-gnu` and scripts/package again',
      );
    }
    for (const child of this.template.node.children) {
      if (!(child instanceof sam.CfnFunction)) {
        continue;
      }
      const binary: unknown = child.cfnOptions.metadata?.BuildProperties?.Binary;
      if (typeof binary !== 'string') {
        throw new Error(`${child.logicalId} in template.yaml has no BuildProperties.Binary`);
      }
      const code = new s3assets.Asset(this, `${binary}-code`, {
        path: path.join(codeDirectory, binary, 'bootstrap.zip'),
      });
      child.codeUri = { bucket: code.s3BucketName, key: code.s3ObjectKey };
      // aws-cdk-lib's SAM specification wrongly requires `OnSuccess` beside `OnFailure`, and
      // would refuse the template's on-failure-only destinations: pass them through as written.
      if (child.eventInvokeConfig !== undefined) {
        child.addPropertyOverride('EventInvokeConfig', asWritten(child.eventInvokeConfig));
        child.eventInvokeConfig = undefined;
      }
      this.functions[binary] = child;
    }
  }
}

export interface SagetideSpokeProps {
  /** The account of the sagetide deployment (the hub) that manages this account. */
  readonly hubAccountId: string;
  /** The hub deployment's region: this account's endpoint and alarm events go to its bus. */
  readonly hubRegion: string;
  /** The external id the hub's configuration document gives for this account. */
  readonly externalId: string;
  /**
   * Values for spoke.yaml's other parameters (`RoleNamePrefix`, `HubEventBusName`,
   * `ModelExecutionRoles`, `EndpointKmsKeyArns`); the others take their defaults.
   */
  readonly parameters?: Record<string, string>;
}

/**
 * A managed account and region of a sagetide hub: `spoke.yaml` included as it is (the roles
 * the hub's functions assume here, and the rules forwarding this account's events to the hub),
 * the template a StackSet rolls out across an organisation.
 */
export class SagetideSpoke extends Construct {
  /** The included template: `getResource('SchedulerRole')` and so on. */
  readonly template: cfninc.CfnInclude;

  constructor(scope: Construct, id: string, props: SagetideSpokeProps) {
    super(scope, id);
    this.template = new cfninc.CfnInclude(this, 'Template', {
      templateFile: path.join(repository, 'spoke.yaml'),
      parameters: {
        ...props.parameters,
        HubAccountId: props.hubAccountId,
        HubRegion: props.hubRegion,
        ExternalId: props.externalId,
      },
    });
  }
}
