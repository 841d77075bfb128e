/**
 * Where a figure's legend goes. Apart from the figure module so that the command line can list the
 * positions in its help without loading vega, vega-lite and resvg (most of a second).
 */
import { UsageError } from '../../core/errors.js';

export const LEGEND_POSITIONS = [
  'top-right',
  'bottom-left',
  'bottom-right',
  'top-left',
  'right',
  'bottom',
  'none',
] as const;
export type LegendPosition = (typeof LEGEND_POSITIONS)[number];

export function parseLegendPosition(text: string): LegendPosition {
  if ((LEGEND_POSITIONS as readonly string[]).includes(text)) return text as LegendPosition;
  throw new UsageError(`unknown legend position '${text}' (expected one of ${LEGEND_POSITIONS.join(', ')})`);
}
