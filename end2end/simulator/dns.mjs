// The simulator's DNS server: answers TXT lookups (the domain verification challenge) from an
// in-memory zone that every org's /__sim/dns/ endpoints share, so tests never ask the real
// internet. UDP and TCP on the same 127.0.0.1 port: a resolver retries over TCP when a UDP
// answer comes back truncated.
import dns2 from 'dns2';
import { HttpError } from './http.mjs';

const { Packet, TCPServer, UDPServer } = dns2;

// Nothing may be cached: a test changes a record and expects the next lookup to see it.
const TTL = 0;
// One TXT character-string carries at most 255 octets (RFC 1035 §3.3).
const MAX_TXT_OCTETS = 255;
// With a free port asked for, UDP picks it and TCP may find it taken: try another.
const BIND_ATTEMPTS = 5;

const typeName = (code) => Object.keys(Packet.TYPE).find((name) => Packet.TYPE[name] === code) ?? String(code);

/** Names compare case-insensitively and without the root's trailing dot. */
const normalize = (name) => name.toLowerCase().replace(/\.$/, '');

export class DnsServer {
  /** While true, queries are dropped unanswered, so a client times out. */
  down = false;
  /** `127.0.0.1:PORT`, once started. */
  address;
  #txt = new Map();
  #udp;
  #tcp;

  /** Listens on 127.0.0.1:`port` (0 = any free port), UDP and TCP alike. */
  async start(port) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#listen(port);
        this.address = `127.0.0.1:${this.#udp.address().port}`;
        return;
      } catch (err) {
        this.close();
        if (port !== 0 || err.code !== 'EADDRINUSE' || attempt === BIND_ATTEMPTS) throw err;
      }
    }
  }

  close() {
    this.#udp?.close();
    this.#tcp?.close();
    this.#udp = undefined;
    this.#tcp = undefined;
  }

  /** Replaces the TXT values of `name`; no values removes the name. */
  setTxt(name, values) {
    if (typeof name !== 'string' || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(name)) {
      throw new HttpError(400, 'name must be a domain name such as _orgpass-challenge.acme.com');
    }
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw new HttpError(400, 'values must be a list of strings');
    }
    if (values.some((v) => Buffer.byteLength(v) > MAX_TXT_OCTETS)) {
      throw new HttpError(400, `a TXT value must be at most ${MAX_TXT_OCTETS} bytes`);
    }
    if (values.length === 0) this.#txt.delete(normalize(name));
    else this.#txt.set(normalize(name), [...values]);
  }

  /** The zone as `{ name: [values] }`. */
  txtRecords() {
    return Object.fromEntries(this.#txt);
  }

  async #listen(port) {
    this.#udp = new UDPServer();
    this.#tcp = new TCPServer();
    for (const server of [this.#udp, this.#tcp]) {
      server.on('request', (request, send) => this.#answer(request, send));
      server.on('requestError', (err) => console.error(`okta-simulator: dns: undecodable query: ${err.message}`));
    }
    await bind(this.#udp, (done) => this.#udp.bind(port, '127.0.0.1', done));
    await bind(this.#tcp, (done) => this.#tcp.listen(this.#udp.address().port, '127.0.0.1', done));
  }

  #answer(request, send) {
    const [question] = request.questions;
    if (!question) return;
    const log = (outcome) => console.error(`okta-simulator: dns ${typeName(question.type)} ${question.name}: ${outcome}`);
    if (this.down) return log('dropped (outage)');
    const values = this.#txt.get(normalize(question.name));
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    if (!values) response.header.rcode = Packet.RCODE.NXDOMAIN;
    else if (question.type === Packet.TYPE.TXT) {
      response.answers = values.map((data) => ({ name: question.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: TTL, data }));
    }
    const count = response.answers.length;
    log(values ? `${count} answer${count === 1 ? '' : 's'}` : 'NXDOMAIN');
    send(response);
  }
}

/** Resolves once `server` listens (`listen` calls back), rejects on its first error. */
function bind(server, listen) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    listen(() => {
      server.off('error', reject);
      resolve();
    });
  });
}
