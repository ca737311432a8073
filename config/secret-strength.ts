import { deflateRawSync } from 'node:zlib';

/** What every signature secret must carry. */
export const MIN_SECRET_BYTES = 32;
export const SECRET_ADVICE = 'generate one with `openssl rand -base64 32`';

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Why a signature secret is too weak, or undefined when it is strong enough. The entropy of a
 * string cannot be measured, only estimated: a hex or base64 value counts the bytes it encodes;
 * other text counts log2 of its character classes per character, and words count as words.
 * Values that repeat themselves, run in sequence or read like words are refused outright. The
 * message never shows the secret.
 */
export function secretWeakness(secret: string): string | undefined {
  const bytes = estimatedBytes(secret);
  if (bytes < MIN_SECRET_BYTES)
    return `about ${Math.floor(bytes)} bytes of entropy, at least ${MIN_SECRET_BYTES} needed: ${SECRET_ADVICE}`;
  if (repetitive(secret)) return `it repeats itself: ${SECRET_ADVICE}`;
  if (sequential(secret)) return `it runs in sequence (like abcd or 1234): ${SECRET_ADVICE}`;
  if (wordLike(secret)) return `it reads like words, not random bytes: ${SECRET_ADVICE}`;
  return undefined;
}

function estimatedBytes(secret: string): number {
  if (HEX.test(secret) && secret.length % 2 === 0) return secret.length / 2;
  if (BASE64.test(secret)) return Math.floor((secret.replace(/=+$/, '').length * 6) / 8);
  const words = secret.split(/\s+/).filter(Boolean);
  // A passphrase: about 12.9 bits a word (a Diceware list of 7776 words).
  if (words.length > 1) return (words.length * 12.9) / 8;
  let pool = 0;
  if (/[a-z]/.test(secret)) pool += 26;
  if (/[A-Z]/.test(secret)) pool += 26;
  if (/[0-9]/.test(secret)) pool += 10;
  if (/[^A-Za-z0-9]/.test(secret)) pool += 33;
  return (secret.length * Math.log2(Math.max(pool, 2))) / 8;
}

/** Compresses to less than 60 %: random text of this length never does. */
function repetitive(secret: string): boolean {
  if (secret.length < 16) return new Set(secret).size < secret.length / 2;
  return deflateRawSync(Buffer.from(secret, 'utf8'), { level: 9 }).length < secret.length * 0.6;
}

/** Most neighbouring characters are equal or one apart (abcdef, 12345, zyx). */
function sequential(secret: string): boolean {
  let steps = 0;
  for (let i = 1; i < secret.length; i++)
    if (Math.abs(secret.charCodeAt(i) - secret.charCodeAt(i - 1)) <= 1) steps++;
  return secret.length > 1 && steps >= (secret.length - 1) / 2;
}

/**
 * Only letters (and the spaces and punctuation between words), in one case or with vowels as
 * frequent as in words. Random base64 of 32 bytes holds digits or symbols, and vowels make up
 * about a fifth of its letters.
 */
function wordLike(secret: string): boolean {
  const words = /^[A-Za-z]+$/.test(secret) || (/\s/.test(secret) && /^[A-Za-z\s.,'!?-]+$/.test(secret));
  if (!words) return false;
  const letters = secret.replace(/[^A-Za-z]/g, '');
  const vowels = letters.replace(/[^aeiouAEIOU]/g, '').length;
  return /^[a-z]*$/.test(letters) || /^[A-Z]*$/.test(letters) || vowels >= letters.length * 0.3;
}
