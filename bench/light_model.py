#!/usr/bin/env python3
"""A light Fashion-MNIST-shaped CNN for the benchmark's call-size measurements (bench/main.ts).

Random weights (seed 0): only its speed matters, not what it predicts. Two 3x3 convolutions with 8 and
16 channels, max pooling, a 64-unit hidden layer; ONNX Runtime runs it at well over 10,000 inputs/s on
two cores, so per-call and per-sample overheads show that the shipped models hide.

    /usr/bin/python3 bench/light_model.py OUT_DIR     # writes OUT_DIR/model.onnx and OUT_DIR/model.json
"""
import json
import os
import sys

import torch
import torch.nn as nn

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10),
).eval()
torch.onnx.export(model, torch.zeros(1, 1, 28, 28), os.path.join(out, 'model.onnx'), input_names=['input'],
                  output_names=['logits'], dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, opset_version=13)
card = {
    'format': 'smooth-reduce-model-card', 'version': 1, 'name': 'bench-light-cnn (random weights)',
    'input': {'layout': 'NCHW', 'shape': [1, 28, 28], 'pixelRange': [0, 1], 'channelOrder': 'gray',
              'normalization': None},
    'classes': [str(i) for i in range(10)],
}
with open(os.path.join(out, 'model.json'), 'w') as f:
    json.dump(card, f, indent=2)
