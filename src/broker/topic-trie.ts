// Topic routing through a trie of binding-key words, with RabbitMQ's rules: '*' matches exactly one
// word, '#' zero or more, words are split on '.' and may be empty.

/** A key's words; the empty key has none (so '*' does not match it, '#' and '' do). */
function words(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

interface TrieNode<T> {
  children: Map<string, TrieNode<T>>;
  /** Bindings whose key ends at this node. */
  values: Set<T>;
}

const node = <T>(): TrieNode<T> => ({ children: new Map(), values: new Set() });

export class TopicTrie<T> {
  private readonly root: TrieNode<T> = node();

  add(key: string, value: T): void {
    let n = this.root;
    for (const word of words(key)) {
      let next = n.children.get(word);
      if (!next) n.children.set(word, (next = node()));
      n = next;
    }
    n.values.add(value);
  }

  remove(key: string, value: T): void {
    const path: TrieNode<T>[] = [this.root];
    const keyWords = words(key);
    for (const word of keyWords) {
      const next = path[path.length - 1].children.get(word);
      if (!next) return;
      path.push(next);
    }
    path[path.length - 1].values.delete(value);
    for (let i = keyWords.length; i > 0; i--) {
      const n = path[i];
      if (n.values.size > 0 || n.children.size > 0) break;
      path[i - 1].children.delete(keyWords[i - 1]);
    }
  }

  /** Adds every value whose binding key matches `routingKey` to `out`. */
  match(routingKey: string, out: Set<T>): void {
    this.walk(this.root, words(routingKey), 0, out);
  }

  private walk(n: TrieNode<T>, words: string[], i: number, out: Set<T>): void {
    const hash = n.children.get('#');
    if (i === words.length) {
      for (const v of n.values) out.add(v);
      // trailing '#'s match zero words
      if (hash) this.walk(hash, words, i, out);
      return;
    }
    const exact = n.children.get(words[i]);
    if (exact) this.walk(exact, words, i + 1, out);
    const star = n.children.get('*');
    if (star) this.walk(star, words, i + 1, out);
    if (hash) {
      // '#' swallows zero or more words
      for (let j = i; j <= words.length; j++) this.walk(hash, words, j, out);
    }
  }
}
