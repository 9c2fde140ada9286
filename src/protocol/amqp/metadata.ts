import { migrate, type Db } from '../../store/sqlite.js';
import type { AmqpOptions } from '../../config.js';
import { hashPassword } from './auth.js';
import { Reader, encodeTable, type FieldTable } from './wire.js';
import type { ExchangeDef, ExchangeType } from './exchange.js';
import type { QueueDef } from './queue.js';

const MIGRATIONS = [
  `CREATE TABLE amqp_users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, tags TEXT NOT NULL, vhosts TEXT);
   CREATE TABLE amqp_vhosts (name TEXT PRIMARY KEY);
   CREATE TABLE amqp_exchanges (vhost TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, auto_delete INTEGER NOT NULL,
     internal INTEGER NOT NULL, arguments BLOB NOT NULL, PRIMARY KEY (vhost, name));
   CREATE TABLE amqp_queues (vhost TEXT NOT NULL, name TEXT NOT NULL, auto_delete INTEGER NOT NULL, arguments BLOB NOT NULL,
     PRIMARY KEY (vhost, name));
   CREATE TABLE amqp_bindings (vhost TEXT NOT NULL, source TEXT NOT NULL, destination_kind TEXT NOT NULL, destination TEXT NOT NULL,
     routing_key TEXT NOT NULL, arguments BLOB NOT NULL, PRIMARY KEY (vhost, source, destination_kind, destination, routing_key, arguments));`,
  // Each durable queue incarnation gets its own log directory, so a queue deleted and redeclared at once
  // never shares files with the one being removed.
  `ALTER TABLE amqp_queues ADD COLUMN store_dir TEXT;`,
  // Durable x-delayed-message exchanges keep held persistent messages in a log of their own.
  `ALTER TABLE amqp_exchanges ADD COLUMN store_dir TEXT;`,
];

export interface UserRecord {
  name: string;
  passwordHash: string;
  tags: string[];
  /** Vhosts the user may open; undefined = all. */
  vhosts: string[] | undefined;
}

export interface BindingRecord {
  source: string;
  destinationKind: 'queue' | 'exchange';
  destination: string;
  routingKey: string;
  args: FieldTable;
}

function decodeTable(b: Buffer): FieldTable {
  return new Reader(b).table();
}

/** Users, vhosts and durable topology in the data dir's SQLite file. */
export class MetadataStore {
  constructor(private readonly db: Db) {
    migrate(db, 'amqp', MIGRATIONS);
  }

  /** Configuration is the source of truth for users and vhosts: each start replaces what is stored. */
  applyConfig(opts: AmqpOptions): void {
    const users: UserRecord[] = (opts.users ?? [{ name: 'guest', password: 'guest', vhosts: undefined, tags: ['administrator'] }]).map((u) => ({
      name: u.name,
      passwordHash: u.passwordHash ?? hashPassword(u.password ?? ''),
      tags: u.tags ?? [],
      vhosts: u.vhosts,
    }));
    const vhosts = new Set(opts.vhosts ?? ['/']);
    for (const u of users) for (const v of u.vhosts ?? []) vhosts.add(v);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM amqp_users').run();
      const ins = this.db.prepare('INSERT INTO amqp_users (name, password_hash, tags, vhosts) VALUES (?, ?, ?, ?)');
      for (const u of users) ins.run(u.name, u.passwordHash, JSON.stringify(u.tags), u.vhosts ? JSON.stringify(u.vhosts) : null);
      const known = new Set((this.db.prepare('SELECT name FROM amqp_vhosts').all() as Array<{ name: string }>).map((r) => r.name));
      for (const v of known) {
        if (!vhosts.has(v)) this.deleteVhostRows(v);
      }
      const insV = this.db.prepare('INSERT OR IGNORE INTO amqp_vhosts (name) VALUES (?)');
      for (const v of vhosts) insV.run(v);
    })();
  }

  private deleteVhostRows(v: string): void {
    for (const t of ['amqp_vhosts', 'amqp_exchanges', 'amqp_queues', 'amqp_bindings']) {
      this.db.prepare(`DELETE FROM ${t} WHERE ${t === 'amqp_vhosts' ? 'name' : 'vhost'} = ?`).run(v);
    }
  }

  user(name: string): UserRecord | undefined {
    const row = this.db.prepare('SELECT name, password_hash, tags, vhosts FROM amqp_users WHERE name = ?').get(name) as
      | { name: string; password_hash: string; tags: string; vhosts: string | null }
      | undefined;
    if (!row) return undefined;
    return { name: row.name, passwordHash: row.password_hash, tags: JSON.parse(row.tags) as string[], vhosts: row.vhosts === null ? undefined : (JSON.parse(row.vhosts) as string[]) };
  }

  vhosts(): string[] {
    return (this.db.prepare('SELECT name FROM amqp_vhosts ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
  }

  exchanges(vhost: string): Array<{ def: ExchangeDef; storeDir: string | null }> {
    const rows = this.db.prepare('SELECT name, type, auto_delete, internal, arguments, store_dir FROM amqp_exchanges WHERE vhost = ?').all(vhost) as Array<{
      name: string;
      type: string;
      auto_delete: number;
      internal: number;
      arguments: Buffer;
      store_dir: string | null;
    }>;
    return rows.map((r) => ({
      def: { name: r.name, type: r.type as ExchangeType, durable: true, autoDelete: r.auto_delete === 1, internal: r.internal === 1, args: decodeTable(r.arguments) },
      storeDir: r.store_dir,
    }));
  }

  queues(vhost: string): Array<{ def: QueueDef; storeDir: string | null }> {
    const rows = this.db.prepare('SELECT name, auto_delete, arguments, store_dir FROM amqp_queues WHERE vhost = ?').all(vhost) as Array<{
      name: string;
      auto_delete: number;
      arguments: Buffer;
      store_dir: string | null;
    }>;
    return rows.map((r) => ({ def: { name: r.name, durable: true, exclusive: false, autoDelete: r.auto_delete === 1, args: decodeTable(r.arguments) }, storeDir: r.store_dir }));
  }

  /** Every queue log directory still referenced, across vhosts (the rest is garbage from deletes). */
  storeDirs(): Set<string> {
    const rows = this.db
      .prepare('SELECT store_dir FROM amqp_queues WHERE store_dir IS NOT NULL UNION SELECT store_dir FROM amqp_exchanges WHERE store_dir IS NOT NULL')
      .all() as Array<{ store_dir: string }>;
    return new Set(rows.map((r) => r.store_dir));
  }

  bindings(vhost: string): BindingRecord[] {
    const rows = this.db.prepare('SELECT source, destination_kind, destination, routing_key, arguments FROM amqp_bindings WHERE vhost = ?').all(vhost) as Array<{
      source: string;
      destination_kind: string;
      destination: string;
      routing_key: string;
      arguments: Buffer;
    }>;
    return rows.map((r) => ({
      source: r.source,
      destinationKind: r.destination_kind === 'exchange' ? 'exchange' : 'queue',
      destination: r.destination,
      routingKey: r.routing_key,
      args: decodeTable(r.arguments),
    }));
  }

  saveExchange(vhost: string, d: ExchangeDef, storeDir: string | null = null): void {
    this.db
      .prepare('INSERT OR REPLACE INTO amqp_exchanges (vhost, name, type, auto_delete, internal, arguments, store_dir) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(vhost, d.name, d.type, d.autoDelete ? 1 : 0, d.internal ? 1 : 0, encodeTable(d.args), storeDir);
  }

  deleteExchange(vhost: string, name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM amqp_exchanges WHERE vhost = ? AND name = ?').run(vhost, name);
      this.db.prepare("DELETE FROM amqp_bindings WHERE vhost = ? AND (source = ? OR (destination_kind = 'exchange' AND destination = ?))").run(vhost, name, name);
    })();
  }

  saveQueue(vhost: string, d: QueueDef, storeDir: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO amqp_queues (vhost, name, auto_delete, arguments, store_dir) VALUES (?, ?, ?, ?, ?)')
      .run(vhost, d.name, d.autoDelete ? 1 : 0, encodeTable(d.args), storeDir);
  }

  deleteQueue(vhost: string, name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM amqp_queues WHERE vhost = ? AND name = ?').run(vhost, name);
      this.db.prepare("DELETE FROM amqp_bindings WHERE vhost = ? AND destination_kind = 'queue' AND destination = ?").run(vhost, name);
    })();
  }

  saveBinding(vhost: string, b: BindingRecord): void {
    this.db
      .prepare('INSERT OR IGNORE INTO amqp_bindings (vhost, source, destination_kind, destination, routing_key, arguments) VALUES (?, ?, ?, ?, ?, ?)')
      .run(vhost, b.source, b.destinationKind, b.destination, b.routingKey, encodeTable(b.args));
  }

  deleteBinding(vhost: string, b: BindingRecord): void {
    this.db
      .prepare('DELETE FROM amqp_bindings WHERE vhost = ? AND source = ? AND destination_kind = ? AND destination = ? AND routing_key = ? AND arguments = ?')
      .run(vhost, b.source, b.destinationKind, b.destination, b.routingKey, encodeTable(b.args));
  }
}
