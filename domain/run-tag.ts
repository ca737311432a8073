/** Characters of a run tag: 36 bits. */
export const RUN_TAG_LENGTH = 6;

const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

/**
 * A short tag of a task's first run id, carried by compact tokens in place of the run id: it
 * tells the runs of one task id apart, so a late reply to an earlier run cannot decide a later
 * one. The token's MAC, not the tag, makes it unforgeable; the tag only has to differ between
 * runs. 64-bit FNV-1a in plain JavaScript (base64url digits of its top 36 bits), so the workflow,
 * which has no node:crypto, computes the same tag as the activity that signs.
 */
export function runTag(runId: string): string {
  let hash = FNV_OFFSET;
  for (let i = 0; i < runId.length; i++) {
    hash = ((hash ^ BigInt(runId.charCodeAt(i))) * FNV_PRIME) & MASK_64;
  }
  let tag = '';
  for (let i = 1; i <= RUN_TAG_LENGTH; i++) tag += DIGITS[Number((hash >> BigInt(64 - 6 * i)) & 63n)];
  return tag;
}
