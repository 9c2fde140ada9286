/**
 * Topic bindings as a trie over dot-separated words, so routing costs the depth of the key rather
 * than one regex per binding. `*` matches exactly one word, `#` zero or more.
 */
interface Node<T> {
  words: Map<string, Node<T>>;
  star?: Node<T>;
  hash?: Node<T>;
  /** Binding ids ending here. */
  values: Map<string, T>;
}

/** An empty key has no words (RabbitMQ: `*` does not match it, `#` and the empty pattern do). */
function words(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

function node<T>(): Node<T> {
  return { words: new Map(), values: new Map() };
}

export class TopicTrie<T> {
  private readonly root: Node<T> = node();

  add(pattern: string, id: string, value: T): void {
    let n = this.root;
    for (const w of words(pattern)) {
      if (w === '*') n = n.star ??= node();
      else if (w === '#') n = n.hash ??= node();
      else {
        let next = n.words.get(w);
        if (!next) n.words.set(w, (next = node()));
        n = next;
      }
    }
    n.values.set(id, value);
  }

  remove(pattern: string, id: string): void {
    const path: Array<[Node<T>, string]> = [];
    let n: Node<T> | undefined = this.root;
    for (const w of words(pattern)) {
      path.push([n, w]);
      n = w === '*' ? n.star : w === '#' ? n.hash : n.words.get(w);
      if (!n) return;
    }
    n.values.delete(id);
    // Prune empty branches so a churn of temporary bindings leaves no garbage behind.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, w] = path[i]!;
      const child = w === '*' ? parent.star : w === '#' ? parent.hash : parent.words.get(w);
      if (!child || child.values.size > 0 || child.words.size > 0 || child.star || child.hash) break;
      if (w === '*') parent.star = undefined;
      else if (w === '#') parent.hash = undefined;
      else parent.words.delete(w);
    }
  }

  match(routingKey: string, out: (value: T) => void): void {
    const parts = words(routingKey);
    const seen = new Set<string>();
    const emit = (n: Node<T>) => {
      for (const [id, v] of n.values) {
        if (!seen.has(id)) {
          seen.add(id);
          out(v);
        }
      }
    };
    const walk = (n: Node<T>, i: number): void => {
      if (n.hash) {
        // `#` swallows words i..k for every k; try each continuation.
        for (let k = i; k <= parts.length; k++) walk(n.hash, k);
      }
      if (i === parts.length) {
        emit(n);
        return;
      }
      const w = parts[i]!;
      const exact = n.words.get(w);
      if (exact) walk(exact, i + 1);
      if (n.star) walk(n.star, i + 1);
    };
    walk(this.root, 0);
  }
}
