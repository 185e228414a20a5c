#!/usr/bin/env node
// Local multi-org Okta simulator: one oidc-provider issuer per configured org, plus one DNS
// server for them all (the TXT records of domain verification).
//   node end2end/simulator/main.mjs --config PATH [--exit-on-stdin-close]
// stdout carries exactly one line, the ready JSON; all logging goes to stderr.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DnsServer } from './dns.mjs';
import { Org } from './org.mjs';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    'exit-on-stdin-close': { type: 'boolean', default: false },
  },
});
if (!args.config) {
  console.error('usage: main.mjs --config PATH [--exit-on-stdin-close]');
  process.exit(2);
}

const config = JSON.parse(await readFile(args.config, 'utf8'));
validate(config);

const dns = new DnsServer();
const orgs = [];
function shutdown(reason) {
  console.error(`okta-simulator: ${reason}, shutting down`);
  for (const org of orgs) org.close();
  dns.close();
  process.exit(0);
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
if (args['exit-on-stdin-close']) {
  // A parent that dies closes our stdin; don't outlive it.
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.resume();
}

await dns.start(config.dns_port ?? 0);
console.error(`okta-simulator: dns at ${dns.address} (udp, tcp)`);

for (const orgConfig of config.orgs) {
  const org = new Org(orgConfig, dns);
  await org.start(orgConfig.port ?? 0);
  orgs.push(org);
  console.error(`okta-simulator: ${org.slug} at ${org.issuer}`);
}

const ready = { ready: true, orgs: Object.fromEntries(orgs.map((org) => [org.slug, org.issuer])), dns: dns.address };
process.stdout.write(`${JSON.stringify(ready)}\n`);

function validate({ orgs: list, dns_port: dnsPort }) {
  const fail = (msg) => {
    console.error(`okta-simulator: invalid config: ${msg}`);
    process.exit(2);
  };
  if (dnsPort !== undefined && !(Number.isInteger(dnsPort) && dnsPort >= 0 && dnsPort <= 65535)) {
    fail('"dns_port" must be a port number (0 picks a free one)');
  }
  if (!Array.isArray(list) || list.length === 0) fail('"orgs" must be a non-empty array');
  const slugs = new Set();
  for (const org of list) {
    if (typeof org.slug !== 'string' || !org.slug) fail('every org needs a "slug"');
    if (slugs.has(org.slug)) fail(`duplicate slug ${org.slug}`);
    slugs.add(org.slug);
    if (!Array.isArray(org.users) || org.users.length === 0) fail(`${org.slug}: "users" must be non-empty`);
    if (org.users.some((u) => typeof u.sub !== 'string')) fail(`${org.slug}: every user needs a "sub"`);
    if (!Array.isArray(org.clients) || org.clients.length === 0) fail(`${org.slug}: "clients" must be non-empty`);
    for (const client of org.clients) validateClient(org.slug, client, fail);
  }
}

function validateClient(slug, client, fail) {
  const name = `${slug}/${client.client_id}`;
  if (typeof client.client_id !== 'string' || !client.client_id) fail(`${slug}: every client needs a "client_id"`);
  // stack.mjs turns an "instance" into these URIs; run directly, the config must carry them.
  if (!Array.isArray(client.redirect_uris) || client.redirect_uris.length === 0) {
    fail(`${name}: "redirect_uris" must be non-empty${client.instance ? ' (stack.mjs fills it from "instance")' : ''}`);
  }
  const { initiate_login_uri: initiate } = client;
  if (initiate !== undefined && !URL.canParse(initiate)) fail(`${name}: "initiate_login_uri" must be an absolute URL`);
}
