// Synthesizes sagetide offline (no AWS account, no built zips) and checks the resources.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Sagetide, SagetideSpoke } from '../lib/sagetide';

const binaries = ['scheduler', 'pool-metrics', 'sleeper', 'waker', 'restorer', 'remediator'];

/** A folder with a placeholder zip per function: synthesis only hashes and stages them. */
function placeholderZips(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagetide-zips-'));
  for (const binary of binaries) {
    fs.mkdirSync(path.join(dir, binary));
    fs.writeFileSync(path.join(dir, binary, 'bootstrap.zip'), `placeholder ${binary}`);
  }
  return dir;
}

function synth(parameters?: Record<string, string>): { template: Template; sagetide: Sagetide } {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'sagetide-cdk-')) });
  const stack = new Stack(app, 'sagetide');
  const sagetide = new Sagetide(stack, 'Sagetide', { codeDirectory: placeholderZips(), parameters });
  return { template: Template.fromStack(stack), sagetide };
}

test('every function is deployed from its own zip asset, arm64 on provided.al2023', () => {
  const { template, sagetide } = synth();
  assert.deepEqual(Object.keys(sagetide.functions).sort(), [...binaries].sort());
  const functions = template.findResources('AWS::Serverless::Function');
  assert.equal(Object.keys(functions).length, binaries.length);
  const keys = new Set<string>();
  for (const [id, f] of Object.entries(functions)) {
    const uri = f.Properties.CodeUri;
    assert.ok(uri.Bucket && typeof uri.Key === 'string' && uri.Key.endsWith('.zip'), `${id}: ${JSON.stringify(uri)}`);
    keys.add(uri.Key);
  }
  assert.equal(keys.size, binaries.length, 'one asset per function');
  const globals = template.toJSON().Globals.Function;
  assert.equal(globals.Runtime, 'provided.al2023');
  assert.deepEqual(globals.Architectures, ['arm64']);
  assert.equal(template.toJSON().Transform, 'AWS::Serverless-2016-10-31');
});

test('the table keeps snapshots: on demand, point-in-time recovery, deletion protection, retained', () => {
  const { template } = synth();
  template.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'Retain',
    Properties: {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    },
  });
  // The configuration, and the marker of the one deployment per account and region.
  template.resourceCountIs('AWS::SSM::Parameter', 2);
  template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/sagetide/deployment' });
  template.resourceCountIs('AWS::SQS::Queue', 1);
  // The failed-events alarm and the wake-failures alarm.
  template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
  template.resourceCountIs('AWS::Logs::LogGroup', binaries.length);
});

test('each function has its own role, its triggers and an on-failure destination', () => {
  const { template } = synth();
  const functions = Object.entries(template.findResources('AWS::Serverless::Function'));
  for (const [id, f] of functions) {
    // A statement under Fn::If (the KMS grants) counts as granted.
    const statements = f.Properties.Policies.flatMap((p: any) => p.Statement).map((s: any) => s['Fn::If']?.[1] ?? s);
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    assert.ok(actions.length > 0, id);
    assert.ok(actions.every((a: string) => !a.includes('*')), `${id}: wildcard in ${actions}`);
    assert.ok(Object.keys(f.Properties.Events).length > 0, `${id}: no trigger`);
    const onFailure = f.Properties.EventInvokeConfig.DestinationConfig.OnFailure;
    assert.equal(onFailure.Type, 'SQS', id);
    assert.equal([onFailure.Destination['Fn::GetAtt']].flat().join('.'), 'FailedEvents.Arn', id);
  }
  template.hasResourceProperties('AWS::Serverless::Function', {
    Events: { Tick: { Type: 'ScheduleV2', Properties: Match.objectLike({ ScheduleExpression: { Ref: 'ScheduleRate' } }) } },
  });
  template.hasResourceProperties('AWS::Serverless::Function', {
    Events: Match.objectLike({ IdleAlarm: Match.objectLike({ Type: 'EventBridgeRule' }) }),
  });
});

test('parameters given to the construct are fixed in the template; the others stay parameters', () => {
  const { template } = synth({ DryRun: 'true' });
  const json = template.toJSON();
  assert.equal(json.Parameters.DryRun, undefined);
  assert.ok(json.Parameters.ScheduleRate);
  assert.equal(json.Globals.Function.Environment.Variables.SAGETIDE_DRY_RUN, 'true');
});

test('the synthesized template passes cfn-lint', () => {
  const { template } = synth({ DryRun: 'true' });
  const cfnLint = path.resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'cfn-lint');
  assert.ok(fs.existsSync(cfnLint), `${cfnLint} is missing: run scripts/bootstrap`);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sagetide-synth-')), 'template.json');
  fs.writeFileSync(file, JSON.stringify(template.toJSON(), null, 1));
  execFileSync(cfnLint, [file], { stdio: 'inherit' });
});

test('zips built for another architecture than arm64 are refused', () => {
  const codeDirectory = placeholderZips();
  fs.writeFileSync(path.join(codeDirectory, 'architecture'), 'x86_64\n');
  const stack = new Stack(new App(), 'sagetide');
  assert.throws(() => new Sagetide(stack, 'Sagetide', { codeDirectory }), /x86_64, but the functions run on arm64/);
});

test('the hub roles carry the path by which spoke roles trust them', () => {
  const { template } = synth();
  for (const [id, f] of Object.entries(template.findResources('AWS::Serverless::Function'))) {
    const binary = f.Metadata.BuildProperties.Binary;
    assert.deepEqual(f.Properties.RolePath, { 'Fn::Sub': `/sagetide/\${AWS::StackName}/${binary}/` }, id);
  }
});

test('a spoke: a role per hub function that only the hub may assume, and its events forwarded', () => {
  const stack = new Stack(new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'sagetide-cdk-')) }), 'spoke');
  new SagetideSpoke(stack, 'Spoke', {
    hubAccountId: '111111111111',
    hubRegion: 'us-east-1',
    externalId: 'sagetide-hub-7f3a',
    parameters: { RoleNamePrefix: 'team-a', ModelExecutionRoles: 'sagemaker-*' },
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  for (const given of ['HubAccountId', 'HubRegion', 'ExternalId', 'RoleNamePrefix', 'ModelExecutionRoles']) {
    assert.equal(json.Parameters?.[given], undefined, `${given} is fixed`);
  }
  const roles = Object.values(template.findResources('AWS::IAM::Role')).filter((r: any) =>
    (r.Properties.Tags ?? []).some((t: any) => t.Key === 'sagetide:function'),
  );
  assert.equal(roles.length, binaries.length);
  for (const role of roles as any[]) {
    const [trust] = role.Properties.AssumeRolePolicyDocument.Statement;
    assert.equal(trust.Condition.StringEquals['sts:ExternalId'], 'sagetide-hub-7f3a');
    assert.match(JSON.stringify(trust.Principal), /111111111111/);
    assert.match(JSON.stringify(role.Properties.RoleName), /team-a/);
  }
  template.resourceCountIs('AWS::Events::Rule', 2);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sagetide-synth-')), 'spoke.json');
  fs.writeFileSync(file, JSON.stringify(json, null, 1));
  const cfnLint = path.resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'cfn-lint');
  execFileSync(cfnLint, [file], { stdio: 'inherit' });
});
