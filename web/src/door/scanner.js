// The device camera, read for QR codes by jsQR (BarcodeDetector is missing
// from most desktop browsers). jsQR, not zxing-js: on clean frames of our
// ticket codes zxing-js missed about one in ten, jsQR none. The back camera
// where there is one.
import jsQR from "jsqr";

const EVERY_MS = 150;
// Frames are shrunk to this width before reading: a ticket fills most of
// the picture, and a smaller frame keeps each read well under a frame's time.
const READ_WIDTH = 640;

/** Starts reading `video`; `found(text)` per code seen. Answers `stop()`. */
export async function startCamera(video, found) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.srcObject = stream;
  await video.play();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let stopped = false;
  let timer = null;
  const read = () => {
    if (stopped) return;
    const { videoWidth, videoHeight } = video;
    if (videoWidth) {
      const scale = Math.min(1, READ_WIDTH / videoWidth);
      canvas.width = Math.round(videoWidth * scale);
      canvas.height = Math.round(videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = jsQR(data, canvas.width, canvas.height, { inversionAttempts: "dontInvert" });
      if (code?.data) found(code.data);
    }
    timer = setTimeout(read, EVERY_MS);
  };
  read();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
}
