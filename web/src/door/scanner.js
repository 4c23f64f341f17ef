// The device camera, read for QR codes by zxing (BarcodeDetector is missing
// from most desktop browsers). The back camera where there is one.
import { BrowserQRCodeReader } from "@zxing/browser";

/** Starts reading `video`; `found(text)` per code seen. Answers `stop()`. */
export async function startCamera(video, found) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.srcObject = stream;
  await video.play();
  // zxing sizes its canvas from the first frame: a reader started before it
  // has none, fails once and stops for good.
  for (let waited = 0; !video.videoWidth; waited += 50) {
    if (waited > 5000) {
      stream.getTracks().forEach((track) => track.stop());
      throw new Error("the camera gives no picture");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const reader = new BrowserQRCodeReader(undefined, { delayBetweenScanAttempts: 150, delayBetweenScanSuccess: 300 });
  let stopped = false;
  let controls = null;
  // zxing's loop ends at any error but "no code here": start it again then.
  const read = () => {
    if (stopped) return;
    controls = reader.scan(
      video,
      (result) => result && found(result.getText()),
      (error) => error && setTimeout(read, 300),
    );
  };
  read();
  return () => {
    stopped = true;
    controls?.stop();
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
}
