/** Where every command writes: process.stdout / process.stderr, or collectors in tests. */
export interface OutputStreams {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
}

export const defaultStreams: OutputStreams = { stdout: process.stdout, stderr: process.stderr };
