// The query parameters RabbitMQ's list endpoints take: name filtering (plain or regex), sorting by
// any (dotted) field, pagination with its envelope, and column selection.
import { compilePcre } from '../auth/pcre.js';
import { ApiError } from './errors.js';
import type { Json } from './json.js';

type JsonObject = { [key: string]: Json };

const MAX_PAGE_SIZE = 500;

function field(item: JsonObject, path: string): Json | undefined {
  let v: Json | undefined = item;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as JsonObject)[part];
  }
  return v;
}

function compare(a: Json | undefined, b: Json | undefined): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = typeof a === 'string' ? a : JSON.stringify(a);
  const y = typeof b === 'string' ? b : JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Only the named (dotted) columns of an item, nested as they were. */
export function pickColumns(item: JsonObject, columns: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const column of columns) {
    const value = field(item, column);
    if (value === undefined) continue;
    const parts = column.split('.');
    let target = out;
    for (const part of parts.slice(0, -1)) {
      if (typeof target[part] !== 'object' || target[part] === null) target[part] = {};
      target = target[part] as JsonObject;
    }
    target[parts[parts.length - 1]] = value;
  }
  return out;
}

function intParam(query: URLSearchParams, key: string, fallback: number): number {
  const raw = query.get(key);
  if (raw === null) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) ? n : NaN;
}

function filterByName(list: JsonObject[], query: URLSearchParams): JsonObject[] {
  const name = query.get('name');
  if (name !== null && name !== '') {
    if (query.get('use_regex') === 'true') {
      const compiled = compilePcre(name);
      const regex = 'regex' in compiled ? compiled.regex : undefined;
      list = regex === undefined ? [] : list.filter((i) => regex.test(String(i.name ?? '')));
    } else {
      const needle = name.toLowerCase();
      list = list.filter((i) => String(i.name ?? '').toLowerCase().includes(needle));
    }
  }
  return list;
}

/**
 * A list as the query asks for it: sorted (by `sort`, then the defaults), filtered by `name` and paged
 * when `page` is given (RabbitMQ's envelope), reduced to `columns`.
 */
export function shapeList(items: JsonObject[], query: URLSearchParams, defaultSort: readonly string[] = ['vhost', 'name']): Json {
  let list = items;
  const total = list.length;
  const sort = query.get('sort');
  const keys = sort !== null && sort !== '' ? [sort, ...defaultSort] : defaultSort;
  list = [...list].sort((a, b) => {
    for (const key of keys) {
      const c = compare(field(a, key), field(b, key));
      if (c !== 0) return c;
    }
    return 0;
  });
  if (query.get('sort_reverse') === 'true') list.reverse();
  const columns = query.get('columns');
  const project = (l: JsonObject[]) => (columns ? l.map((i) => pickColumns(i, columns.split(','))) : l);
  if (!query.has('page')) return project(list);
  // RabbitMQ filters by name only when asked for a page
  list = filterByName(list, query);
  const page = intParam(query, 'page', 1);
  const pageSize = intParam(query, 'page_size', 100);
  if (!(page >= 1) || !(pageSize >= 1) || pageSize > MAX_PAGE_SIZE) {
    throw new ApiError(400, 'invalid_pagination_parameters', `Invalid pagination parameters: page number ${query.get('page')}, page size ${query.get('page_size') ?? 100}`);
  }
  const pageCount = Math.max(1, Math.ceil(list.length / pageSize));
  if (page > pageCount) throw new ApiError(400, 'page_out_of_range', `Page out of range, page: ${page} page size: ${pageSize}, len: ${list.length}`);
  const items_ = project(list.slice((page - 1) * pageSize, page * pageSize));
  return {
    filtered_count: list.length,
    item_count: items_.length,
    items: items_,
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: total,
  };
}

/** One item, reduced to `columns` when asked. */
export function shapeItem(item: JsonObject, query: URLSearchParams): JsonObject {
  const columns = query.get('columns');
  return columns ? pickColumns(item, columns.split(',')) : item;
}
