/**
 * Channel-planar shape of one input, the layout of every tensor in the project: C x H x W for
 * images, C x T x H x W for video clips (`frames` = T set).
 */
export interface Shape3 {
  channels: number;
  /** frames (T) of a clip; absent for images */
  frames?: number;
  height: number;
  width: number;
}

export function shapeSize(s: Shape3): number {
  return s.channels * (s.frames ?? 1) * s.height * s.width;
}

export function formatShape(s: Shape3): string {
  return s.frames === undefined
    ? `${s.channels}x${s.height}x${s.width}`
    : `${s.channels}x${s.frames}x${s.height}x${s.width}`;
}

export function sameShape(a: Shape3, b: Shape3): boolean {
  return a.channels === b.channels && a.frames === b.frames && a.height === b.height && a.width === b.width;
}

/**
 * How a video classifier's input tensor is ordered: [N, C, T, H, W] (PyTorch's 3D CNNs, the default) or
 * [N, T, C, H, W]. Clips themselves are always stored C x T x H x W.
 */
export type ClipLayout = 'NCTHW' | 'NTCHW';
