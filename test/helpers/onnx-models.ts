/**
 * Tiny ONNX models written with the ONNX protobuf schema (onnx-proto), so that tests need no
 * trained network: a linear classifier logits = W flatten(x) + b.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

function tensor(name: string, dims: number[], values: ArrayLike<number>) {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    floatData: Array.from(values),
  });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) =>
            typeof d === 'number' ? onnx.TensorShapeProto.Dimension.create({ dimValue: d }) : { dimParam: d },
          ),
        }),
      }),
    }),
  });
}

/**
 * logits[N, classes] = flatten(input[N, C, H, W]) W^T + b, with W given row-major [classes, C*H*W].
 * `batch` fixes the batch axis (for error tests); default dynamic.
 */
export function linearModel(
  shape: [number, number, number],
  weights: ArrayLike<number>,
  bias: ArrayLike<number>,
  batch: number | string = 'N',
): Uint8Array {
  const d = shape[0] * shape[1] * shape[2];
  const classes = bias.length;
  if (weights.length !== classes * d) throw new Error('linearModel: weights must be classes x d');
  const graph = onnx.GraphProto.create({
    name: 'linear',
    node: [
      onnx.NodeProto.create({ opType: 'Flatten', input: ['input'], output: ['flat'], name: 'flatten' }),
      onnx.NodeProto.create({
        opType: 'Gemm',
        input: ['flat', 'W', 'b'],
        output: ['logits'],
        name: 'gemm',
        attribute: [
          onnx.AttributeProto.create({ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }),
        ],
      }),
    ],
    initializer: [tensor('W', [classes, d], weights), tensor('b', [classes], bias)],
    input: [valueInfo('input', [batch, ...shape])],
    output: [valueInfo('logits', [batch, classes])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'smooth-reduce-tests',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 13 })],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Misbehaving models for the refusal tests, each a linear layer plus one defect. */
export type ProbeModelKind =
  'sqrt' | 'nan' | 'one-class' | 'rank-1' | 'two-outputs' | 'two-inputs' | 'fixed-batch-reshape';

/**
 * A [N, 1, side, side] -> [N, 2] linear model with a defect: `sqrt` takes the square root of its
 * logits (NaN once a noisy input drives one negative), `nan` has NaN weights, `one-class` returns
 * [N, 1], `rank-1` returns [N], `two-outputs` returns its logits twice, `two-inputs` adds a second
 * image input, `fixed-batch-reshape` reshapes to a hard-coded batch of 2 inside.
 */
export function probeModel(kind: ProbeModelKind, side = 4): Uint8Array {
  const d = side * side;
  const classes = kind === 'one-class' || kind === 'rank-1' ? 1 : 2;
  // class 1 scores the mean pixel minus 0.45: positive on a grey 0.5 input, negative under noise
  const W = new Array<number>(classes * d).fill(0);
  const b = new Array<number>(classes).fill(0.05);
  if (classes === 2) {
    for (let j = 0; j < d; j++) W[d + j] = 1 / d;
    b[1] = -0.45;
  }
  if (kind === 'nan') W[0] = NaN;
  const nodes = [
    kind === 'fixed-batch-reshape'
      ? onnx.NodeProto.create({ opType: 'Reshape', input: ['input', 'shape'], output: ['flat'] })
      : onnx.NodeProto.create({ opType: 'Flatten', input: ['input'], output: ['flat'] }),
    onnx.NodeProto.create({
      opType: 'Gemm',
      input: [kind === 'two-inputs' ? 'sum' : 'flat', 'W', 'b'],
      output: ['gemm'],
      attribute: [
        onnx.AttributeProto.create({ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }),
      ],
    }),
  ];
  if (kind === 'two-inputs') {
    nodes.splice(1, 0, onnx.NodeProto.create({ opType: 'Flatten', input: ['second'], output: ['flat2'] }));
    nodes.splice(2, 0, onnx.NodeProto.create({ opType: 'Add', input: ['flat', 'flat2'], output: ['sum'] }));
  }
  const tail: Record<ProbeModelKind, { op: string; extra?: string[] }> = {
    sqrt: { op: 'Sqrt' },
    nan: { op: 'Identity' },
    'one-class': { op: 'Identity' },
    'rank-1': { op: 'Reshape', extra: ['rank1'] },
    'two-outputs': { op: 'Identity' },
    'two-inputs': { op: 'Identity' },
    'fixed-batch-reshape': { op: 'Identity' },
  };
  nodes.push(
    onnx.NodeProto.create({
      opType: tail[kind].op,
      input: ['gemm', ...(tail[kind].extra ?? [])],
      output: ['logits'],
    }),
  );
  if (kind === 'two-outputs')
    nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: ['gemm'], output: ['copy'] }));
  const int64 = (name: string, values: number[]) =>
    onnx.TensorProto.create({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      int64Data: values,
    });
  const graph = onnx.GraphProto.create({
    name: kind,
    node: nodes,
    initializer: [
      tensor('W', [classes, d], W),
      tensor('b', [classes], b),
      int64('shape', [2, d]),
      int64('rank1', [-1]),
    ],
    input: [
      valueInfo('input', ['N', 1, side, side]),
      ...(kind === 'two-inputs' ? [valueInfo('second', ['N', 1, side, side])] : []),
    ],
    output: [
      valueInfo('logits', kind === 'rank-1' ? ['N'] : ['N', classes]),
      ...(kind === 'two-outputs' ? [valueInfo('copy', ['N', classes])] : []),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'smooth-reduce-tests',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 13 })],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * An image-to-image ONNX graph out = scale * input + shift on [N, C, H, W] (H and W dynamic unless
 * `side` fixes them): scale 1, shift 0 is the identity denoiser. With `timestep` it takes a second
 * input t [N] (unused), as a diffusion model's eps(x_t, t) does.
 */
export function affineImageModel(
  channels: number,
  scale: number,
  shift: number,
  options: { side?: number; timestep?: boolean } = {},
): Uint8Array {
  const h = options.side ?? 'H';
  const w = options.side ?? 'W';
  const graph = onnx.GraphProto.create({
    name: 'affine-image',
    node: [
      onnx.NodeProto.create({ opType: 'Mul', input: ['input', 'scale'], output: ['scaled'] }),
      onnx.NodeProto.create({ opType: 'Add', input: ['scaled', 'shift'], output: ['output'] }),
    ],
    initializer: [tensor('scale', [1], [scale]), tensor('shift', [1], [shift])],
    input: [
      valueInfo('input', ['N', channels, h, w]),
      ...(options.timestep
        ? [
            onnx.ValueInfoProto.create({
              name: 't',
              type: onnx.TypeProto.create({
                tensorType: onnx.TypeProto.Tensor.create({
                  elemType: onnx.TensorProto.DataType.INT64,
                  shape: onnx.TensorShapeProto.create({ dim: [{ dimParam: 'N' }] }),
                }),
              }),
            }),
          ]
        : []),
    ],
    output: [valueInfo('output', ['N', channels, h, w])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'smooth-reduce-tests',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 13 })],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
