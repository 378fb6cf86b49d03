/**
 * Loopback stand-ins for the push providers, following their documented contracts, for tests and the push
 * benchmark: APNs (HTTP/2, ES256 provider tokens verified), FCM HTTP v1 with its OAuth token endpoint (RS256
 * assertions verified), and a Web Push endpoint that decrypts aes128gcm payloads and verifies VAPID.
 */
export { startApnsStandIn, type ApnsStandIn, type ApnsReceived } from './apns-stand-in.js';
export { startFcmStandIn, type FcmStandIn, type FcmReceived } from './fcm-stand-in.js';
export {
  startWebPushStandIn,
  decryptAes128gcm,
  type WebPushStandIn,
  type WebPushReceived,
  type StandInSubscription,
} from './web-push-stand-in.js';
export { AnswerScript, type ScriptedAnswer } from './scripted.js';
export { makeApnsKey, makeServiceAccount, makeVapidKeys } from './credentials.js';
