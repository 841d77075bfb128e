/** Channel-planar image shape (C x H x W), the layout of every tensor in the project. */
export interface Shape3 {
  channels: number;
  height: number;
  width: number;
}

export function shapeSize(s: Shape3): number {
  return s.channels * s.height * s.width;
}

export function formatShape(s: Shape3): string {
  return `${s.channels}x${s.height}x${s.width}`;
}

export function sameShape(a: Shape3, b: Shape3): boolean {
  return a.channels === b.channels && a.height === b.height && a.width === b.width;
}
