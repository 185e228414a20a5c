// Map-based storage for oidc-provider models (sessions, interactions, codes,
// grants, tokens). One store lives per org for the whole process, so a
// Provider rebuilt during key rotation still sees every in-flight flow.

const now = () => Math.floor(Date.now() / 1000);

// Grant-bound records this provider issues; revoking the grant removes them.
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode']);

export function createMemoryAdapter() {
  const records = new Map(); // "Model:id" -> { payload, expiresAt }
  const sessionUids = new Map(); // session uid -> session id
  const userCodes = new Map(); // device user code -> id
  const grantMembers = new Map(); // grantId -> Set of "Model:id"

  return class MemoryAdapter {
    /** Payloads of one model's unexpired records (destroyed ones are already gone). */
    static live(model) {
      const prefix = `${model}:`;
      return [...records]
        .filter(([key, record]) => key.startsWith(prefix) && record.expiresAt > now())
        .map(([, record]) => record.payload);
    }

    constructor(model) {
      this.model = model;
    }

    key(id) {
      return `${this.model}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      records.set(key, { payload, expiresAt: expiresIn ? now() + expiresIn : Infinity });
      if (this.model === 'Session') sessionUids.set(payload.uid, id);
      if (payload.userCode) userCodes.set(payload.userCode, id);
      if (GRANTABLE.has(this.model) && payload.grantId) {
        if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
        grantMembers.get(payload.grantId).add(key);
      }
    }

    async find(id) {
      const key = this.key(id);
      const record = records.get(key);
      if (!record) return undefined;
      if (record.expiresAt <= now()) {
        records.delete(key);
        return undefined;
      }
      return record.payload;
    }

    async findByUid(uid) {
      return this.find(sessionUids.get(uid));
    }

    async findByUserCode(userCode) {
      return this.find(userCodes.get(userCode));
    }

    async consume(id) {
      const payload = await this.find(id);
      if (payload) payload.consumed = now();
    }

    async destroy(id) {
      records.delete(this.key(id));
    }

    async revokeByGrantId(grantId) {
      for (const key of grantMembers.get(grantId) ?? []) records.delete(key);
      grantMembers.delete(grantId);
    }
  };
}
