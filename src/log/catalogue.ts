/** The topic catalogue: one SQLite row per topic (name, id, partition count, config overrides). */
import { randomUUID } from 'node:crypto';
import { migrate, type Db } from '../store/sqlite.js';
import type { TopicInfo } from './types.js';

const MIGRATIONS = [
  `CREATE TABLE log_topics (
     name TEXT PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     partitions INTEGER NOT NULL,
     configs TEXT NOT NULL,
     created_at INTEGER NOT NULL
   )`,
];

interface Row {
  name: string;
  id: string;
  partitions: number;
  configs: string;
  created_at: number;
}

function toInfo(r: Row): TopicInfo {
  return { name: r.name, id: r.id, partitions: r.partitions, configs: JSON.parse(r.configs) as Record<string, string>, createdAt: r.created_at };
}

export class TopicCatalogue {
  private readonly stmts;

  constructor(db: Db) {
    migrate(db, 'log', MIGRATIONS);
    this.stmts = {
      all: db.prepare<[], Row>('SELECT * FROM log_topics ORDER BY name'),
      insert: db.prepare('INSERT INTO log_topics (name, id, partitions, configs, created_at) VALUES (?, ?, ?, ?, ?)'),
      remove: db.prepare('DELETE FROM log_topics WHERE name = ?'),
      setPartitions: db.prepare('UPDATE log_topics SET partitions = ? WHERE name = ?'),
      setConfigs: db.prepare('UPDATE log_topics SET configs = ? WHERE name = ?'),
    };
  }

  all(): TopicInfo[] {
    return this.stmts.all.all().map(toInfo);
  }

  insert(name: string, partitions: number, configs: Record<string, string>): TopicInfo {
    const info: TopicInfo = { name, id: randomUUID().replace(/-/g, ''), partitions, configs, createdAt: Date.now() };
    this.stmts.insert.run(name, info.id, partitions, JSON.stringify(configs), info.createdAt);
    return info;
  }

  remove(name: string): void {
    this.stmts.remove.run(name);
  }

  setPartitions(name: string, partitions: number): void {
    this.stmts.setPartitions.run(partitions, name);
  }

  setConfigs(name: string, configs: Record<string, string>): void {
    this.stmts.setConfigs.run(JSON.stringify(configs), name);
  }
}
