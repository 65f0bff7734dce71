/**
 * webiso's icon, a white keyhole on blue: an SVG for browsers that take one (linked from every
 * page) and the same drawing as a 16×16 ICO at /favicon.ico, which browsers ask for on their own.
 * Both are built once, in code: there is no binary file to keep in sync.
 */

const SIZE = 16;
const BLUE = [0x2c, 0x6d, 0xb5] as const;
const WHITE = [0xff, 0xff, 0xff] as const;

export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">' +
  '<rect width="16" height="16" rx="3" fill="#2c6db5"/>' +
  '<circle cx="8" cy="6.5" r="2.5" fill="#fff"/>' +
  '<path d="M6.8 8h2.4l.8 4.5H6z" fill="#fff"/>' +
  '</svg>';

function insideRoundedSquare(x: number, y: number, radius = 3): boolean {
  const cx = Math.min(Math.max(x, radius), SIZE - radius);
  const cy = Math.min(Math.max(y, radius), SIZE - radius);
  return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
}

function insideKeyhole(x: number, y: number): boolean {
  if ((x - 8) ** 2 + (y - 6.5) ** 2 <= 2.5 ** 2) return true;
  if (y < 8 || y > 12.5) return false;
  const halfWidth = 1.2 + ((y - 8) / 4.5) * 0.8; // the trapezoid widens from 2.4 to 4 downwards
  return Math.abs(x - 8) <= halfWidth;
}

const SAMPLES = 4; // per axis: edges are anti-aliased, 16 samples a pixel

/** The colour (RGBA) of a pixel: the share of samples inside the square, and of those inside the keyhole. */
function pixel(x: number, y: number): readonly [number, number, number, number] {
  let square = 0;
  let hole = 0;
  for (let i = 0; i < SAMPLES; i += 1) {
    for (let j = 0; j < SAMPLES; j += 1) {
      const [px, py] = [x + (i + 0.5) / SAMPLES, y + (j + 0.5) / SAMPLES];
      if (!insideRoundedSquare(px, py)) continue;
      square += 1;
      if (insideKeyhole(px, py)) hole += 1;
    }
  }
  if (square === 0) return [0, 0, 0, 0];
  const white = hole / square;
  const mix = (channel: 0 | 1 | 2) => Math.round(BLUE[channel] + (WHITE[channel] - BLUE[channel]) * white);
  return [mix(0), mix(1), mix(2), Math.round((0xff * square) / SAMPLES ** 2)];
}

/** ICONDIR + one ICONDIRENTRY + a 32-bit BMP (XOR bitmap bottom-up, then an all-clear AND mask). */
function buildIco(): Buffer {
  const pixels = SIZE * SIZE * 4;
  const mask = SIZE * 4; // one 32-bit-padded row of mask bits per pixel row
  const image = 40 + pixels + mask;
  const ico = Buffer.alloc(6 + 16 + image);
  ico.writeUInt16LE(1, 2); // type: icon
  ico.writeUInt16LE(1, 4); // one image
  ico.writeUInt8(SIZE, 6);
  ico.writeUInt8(SIZE, 7);
  ico.writeUInt16LE(1, 10); // planes
  ico.writeUInt16LE(32, 12); // bits per pixel
  ico.writeUInt32LE(image, 14);
  ico.writeUInt32LE(22, 18); // offset of the image
  ico.writeUInt32LE(40, 22); // BITMAPINFOHEADER
  ico.writeInt32LE(SIZE, 26);
  ico.writeInt32LE(SIZE * 2, 30); // height counts the XOR bitmap and the AND mask
  ico.writeUInt16LE(1, 34);
  ico.writeUInt16LE(32, 36);
  ico.writeUInt32LE(pixels + mask, 42);
  for (let row = 0; row < SIZE; row += 1) {
    const y = SIZE - 1 - row; // bottom-up
    for (let x = 0; x < SIZE; x += 1) {
      const [r, g, b, a] = pixel(x, y);
      const at = 62 + (row * SIZE + x) * 4;
      ico.writeUInt8(b, at);
      ico.writeUInt8(g, at + 1);
      ico.writeUInt8(r, at + 2);
      ico.writeUInt8(a, at + 3);
    }
  }
  return ico;
}

export const FAVICON_ICO = buildIco();
