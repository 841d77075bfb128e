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
