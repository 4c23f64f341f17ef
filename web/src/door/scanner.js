// The device camera, read for QR codes by zxing (BarcodeDetector is missing
// from most desktop browsers). The back camera where there is one.
import { BrowserQRCodeReader } from "@zxing/browser";

/** Starts reading `video`; `found(text)` per code seen. Answers `stop()`. */
export async function startCamera(video, found) {
  const reader = new BrowserQRCodeReader(undefined, { delayBetweenScanAttempts: 150, delayBetweenScanSuccess: 300 });
  const controls = await reader.decodeFromConstraints({ video: { facingMode: "environment" } }, video, (result) => {
    if (result) found(result.getText());
  });
  return () => controls.stop();
}
