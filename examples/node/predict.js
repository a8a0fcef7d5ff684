#!/usr/bin/env node
'use strict';
// node predict.js MODEL.onnx INPUT.json OUTPUT.json
// INPUT: {"dt": 0.4, "groups": [...] or null, "tracks": [{"obs": [[x, y], ...], "scale": null or box height}, ...]}
// OUTPUT: {"mean": [[[x, y], ...], ...]}: one forecast per track (MODEL.onnx.json must be beside the model).
const fs = require('fs');
const { Forecaster } = require('./forecaster');

async function main([modelPath, inputPath, outputPath]) {
  if (!outputPath) throw new Error('usage: node predict.js MODEL.onnx INPUT.json OUTPUT.json');
  const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
  const forecaster = await Forecaster.load(modelPath);
  const mean = await forecaster.predict(input.tracks, { dt: input.dt, groups: input.groups });
  fs.writeFileSync(outputPath, JSON.stringify({ mean }));
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`predict.js: ${err.message}`);
  process.exit(1);
});
