// The device camera, read for QR codes: by the browser's BarcodeDetector
// where it has one (Android, Apple), else by ZXing's C++ reader built to
// WebAssembly (`zxing-wasm`), served from this app, never from a CDN.
// Not zxing-js: on clean frames of our ticket codes it missed about one in
// ten, where ZXing C++ missed none.
import { prepareZXingModule, readBarcodes } from "zxing-wasm/reader";
import wasmUrl from "zxing-wasm/reader/zxing_reader.wasm?url";

const EVERY_MS = 150;
// Frames are shrunk to this width before reading: a ticket fills most of
// the picture, and a smaller frame keeps each read well under a frame's time.
const READ_WIDTH = 640;

// One object for every call: zxing-wasm compiles the module again when the
// overrides it is given differ from the last ones (compared key by key).
const OVERRIDES = { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) };

/** Fetches and compiles the reader, once (the door calls it while online, so that it is kept for offline). */
export function prepareReader() {
  return prepareZXingModule({ overrides: OVERRIDES, fireImmediately: true });
}

async function nativeDetector() {
  if (!("BarcodeDetector" in window)) return null;
  const formats = await window.BarcodeDetector.getSupportedFormats().catch(() => []);
  return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
}

/** Reads one frame of `video`: the first code's text, or null. */
async function reader() {
  const native = await nativeDetector();
  if (native) return async (video) => (await native.detect(video))[0]?.rawValue ?? null;
  await prepareReader();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    const scale = Math.min(1, READ_WIDTH / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const [code] = await readBarcodes(image, { formats: ["QRCode"], maxNumberOfSymbols: 1 });
    return code?.isValid ? code.text : null;
  };
}

/** Starts reading `video`; `found(text)` per code seen. Answers `stop()`. */
export async function startCamera(video, found) {
  const read = await reader();
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.srcObject = stream;
  await video.play();
  let stopped = false;
  let timer = null;
  const next = async () => {
    if (stopped) return;
    try {
      const text = video.videoWidth ? await read(video) : null;
      if (text && !stopped) found(text);
    } catch {
      // A frame that cannot be read (the camera is switching): the next one may.
    }
    timer = setTimeout(next, EVERY_MS);
  };
  next();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
}
