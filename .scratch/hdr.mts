import sharp from 'sharp';
import { crc32, deflateSync } from 'node:zlib';
function png(width: number, height: number, idat: boolean): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4); length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...(idat ? [chunk('IDAT', deflateSync(Buffer.alloc(100)))] : []), chunk('IEND', Buffer.alloc(0))]);
}
for (const idat of [false, true]) {
  const b = png(40000, 20000, idat);
  console.log(idat, await sharp(b, { limitInputPixels: false }).metadata().then((m) => `${m.width}x${m.height}`, (e) => e.message));
  console.log(idat, await sharp(b).metadata().then((m) => `${m.width}x${m.height}`, (e) => e.message));
}
