#!/usr/bin/env node
import { installCrashGuards, runCli } from './run.js';

installCrashGuards();
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
