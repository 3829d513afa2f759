/** Twilio's RFC 2822 date format, as in RecordingStartTime: `Tue, 24 Mar 2026 18:15:40 +0000`. */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}
