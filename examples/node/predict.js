#!/usr/bin/env node
'use strict';
// node predict.js MODEL.onnx INPUT.json OUTPUT.json
// INPUT: {"dt": 0.4, "groups": [...] or null, "modes": 3, "tracks": [{"obs": [[x, y], ...], "scale": null or box
// height}, ...]}; OUTPUT: {"forecasts": [{"mean": [[x, y], ...], "sigma": [...], "modes": [{"p", "path",
// "sigma"}, ...]}, ...]}, one per track. MODEL.onnx.json (written by trajpipe export) must be beside the model.
const fs = require('fs');
const { Forecaster } = require('./forecaster');

async function main([modelPath, inputPath, outputPath]) {
  if (!outputPath) throw new Error('usage: node predict.js MODEL.onnx INPUT.json OUTPUT.json');
  const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
  const forecaster = await Forecaster.load(modelPath);
  const forecasts = await forecaster.forecast(input.tracks, { dt: input.dt, groups: input.groups, modes: input.modes || 0 });
  fs.writeFileSync(outputPath, JSON.stringify({ forecasts }));
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`predict.js: ${err.message}`);
  process.exit(1);
});
