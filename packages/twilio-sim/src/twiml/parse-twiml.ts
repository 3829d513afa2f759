import { XMLParser } from 'fast-xml-parser';
import { SimulatedCallError } from '../errors.js';

export type CallbackMethod = 'GET' | 'POST';

/** `<Start><Stream>`: where to open the WebSocket and what to report. URLs are absolute. */
export interface StreamInstruction {
  url: string;
  name?: string;
  track: string;
  statusCallback?: string;
  statusCallbackMethod: CallbackMethod;
  /** `<Parameter name value>` children, delivered as `start.customParameters`. */
  parameters: Record<string, string>;
}

/** `<Start><Recording>`: which recording callbacks to send where. URLs are absolute. */
export interface RecordingInstruction {
  channels: string;
  track: string;
  recordingStatusCallback?: string;
  recordingStatusCallbackMethod: CallbackMethod;
  /** Events to report; Twilio's default is `completed` only. */
  recordingStatusCallbackEvents: ReadonlySet<string>;
}

export interface DialInstruction {
  callerId?: string;
  numbers: string[];
}

/** The parts of the gateway's TwiML the simulator acts on. */
export interface CallInstructions {
  stream: StreamInstruction;
  recording?: RecordingInstruction;
  dial?: DialInstruction;
}

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Keep "+15551234567" and "1" as strings: TwiML values are text.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (tagName) => ['Start', 'Stream', 'Recording', 'Parameter', 'Dial', 'Number'].includes(tagName),
});

/**
 * Reads the TwiML a voice webhook returned. Relative URLs resolve against `documentUrl` (the webhook URL),
 * as Twilio does; a relative Stream URL becomes ws(s) by its page's scheme.
 */
export function parseCallTwiml(twiml: string, documentUrl: string): CallInstructions {
  let doc: XmlNode;
  try {
    doc = parser.parse(twiml, true) as XmlNode;
  } catch (cause) {
    throw new SimulatedCallError('twiml', 'response is not well-formed XML', { cause });
  }
  const response = doc['Response'];
  if (!isNode(response)) throw new SimulatedCallError('twiml', 'no <Response> root element');

  const starts = nodes(response['Start']);
  const streamNode = starts.flatMap((start) => nodes(start['Stream']))[0];
  if (!streamNode) throw new SimulatedCallError('twiml', 'no <Start><Stream> in the response');
  const recordingNode = starts.flatMap((start) => nodes(start['Recording']))[0];
  const dialNode = nodes(response['Dial'])[0];

  return {
    stream: readStream(streamNode, documentUrl),
    ...(recordingNode ? { recording: readRecording(recordingNode, documentUrl) } : {}),
    ...(dialNode ? { dial: readDial(dialNode) } : {}),
  };
}

function readStream(node: XmlNode, documentUrl: string): StreamInstruction {
  const rawUrl = text(node['url']);
  if (!rawUrl) throw new SimulatedCallError('twiml', '<Stream> has no url attribute');
  const url = new URL(rawUrl, documentUrl);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
    throw new SimulatedCallError('twiml', `<Stream> url has unsupported scheme ${url.protocol}`);
  }
  const parameters: Record<string, string> = {};
  for (const parameter of nodes(node['Parameter'])) {
    const name = text(parameter['name']);
    if (name) parameters[name] = text(parameter['value']) ?? '';
  }
  const name = text(node['name']);
  const statusCallback = text(node['statusCallback']);
  return {
    // Keep the URL exactly as written when absolute: the upgrade signature is computed over it.
    url: /^wss?:\/\//i.test(rawUrl) ? rawUrl : url.toString(),
    ...(name ? { name } : {}),
    track: text(node['track']) ?? 'inbound_track',
    ...(statusCallback ? { statusCallback: new URL(statusCallback, documentUrl).toString() } : {}),
    statusCallbackMethod: method(node['statusCallbackMethod']),
    parameters,
  };
}

function readRecording(node: XmlNode, documentUrl: string): RecordingInstruction {
  const callback = text(node['recordingStatusCallback']);
  const events = (text(node['recordingStatusCallbackEvent']) ?? 'completed').split(/[\s,]+/).filter(Boolean);
  return {
    channels: text(node['channels']) ?? 'dual',
    track: text(node['track']) ?? 'both',
    ...(callback ? { recordingStatusCallback: new URL(callback, documentUrl).toString() } : {}),
    recordingStatusCallbackMethod: method(node['recordingStatusCallbackMethod']),
    recordingStatusCallbackEvents: new Set(events),
  };
}

function readDial(node: XmlNode): DialInstruction {
  const callerId = text(node['callerId']);
  // <Number> is text-only unless it has attributes, in which case the text sits under '#text'.
  const numbers = (Array.isArray(node['Number']) ? (node['Number'] as unknown[]) : [])
    .map((number) => (isNode(number) ? text(number['#text']) : text(number)))
    .filter((n): n is string => Boolean(n));
  return { ...(callerId ? { callerId } : {}), numbers };
}

function method(value: unknown): CallbackMethod {
  return text(value)?.toUpperCase() === 'GET' ? 'GET' : 'POST';
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null;
}

/** Array-declared tags arrive as arrays; empty elements arrive as '' rather than objects. */
function nodes(value: unknown): XmlNode[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => (isNode(item) ? item : {}));
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
