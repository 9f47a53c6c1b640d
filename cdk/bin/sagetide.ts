#!/usr/bin/env node
// `npx cdk deploy` from this folder: one stack with sagetide, its parameters settable with
// `--parameters DryRun=true` and the like. Build the zips first: ../scripts/package.
import { App, Stack } from 'aws-cdk-lib';
import { Sagetide } from '../lib/sagetide';

const app = new App();
const stack = new Stack(app, app.node.tryGetContext('stackName') ?? 'sagetide');
new Sagetide(stack, 'Sagetide');
