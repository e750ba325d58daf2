#!/usr/bin/env node
/**
 * Run before the build (and so before `npm start` and every operator command): on a Node.js older
 * than package.json's `engines` the bundle dies with a SyntaxError naming a missing export; this
 * says what to install instead. Plain CommonJS, so that any Node.js can read it.
 */
'use strict';
var required = require('../package.json').engines.node; // ">=22.12"
var wanted = required
  .replace(/^>=\s*/, '')
  .split('.')
  .map(Number);
var running = process.versions.node.split('.').map(Number);
var older = false;
for (var i = 0; i < wanted.length; i++) {
  if ((running[i] || 0) !== wanted[i]) {
    older = (running[i] || 0) < wanted[i];
    break;
  }
}
if (older) {
  console.error(
    'backoffice-api needs Node.js ' +
      required +
      ' (package.json "engines"); this is Node.js ' +
      process.versions.node +
      ' (' +
      process.execPath +
      ').\nInstall Node.js 22.12 or later (26 is the one the image runs) and put it first on PATH.',
  );
  process.exit(1);
}
