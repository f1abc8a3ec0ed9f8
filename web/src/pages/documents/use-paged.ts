import { useCallback, useEffect, useRef, useState } from 'react';
import type { CombinedError } from 'urql';

export interface Page<T> { nodes: T[]; endCursor?: string | null; hasNextPage: boolean }
export type LoadPage<T> = (after: string | null) => Promise<{ page: Page<T> | null; error: CombinedError | null }>;

export interface Paged<T> {
  items: T[];
  hasMore: boolean;
  /** True until the first answer. */
  loading: boolean;
  error: CombinedError | null;
  loadMore(): void;
  /** Loads again as many pages as are shown (after a change). */
  reload(): void;
}

/** A list read page by page (the API's first/after cursors), kept whole across reloads; stale answers are dropped. */
export function usePaged<T>(load: LoadPage<T>): Paged<T> {
  const [state, setState] = useState<{ items: T[]; cursor: string | null; hasMore: boolean; pages: number; loading: boolean; error: CombinedError | null }>(
    { items: [], cursor: null, hasMore: false, pages: 1, loading: true, error: null },
  );
  const generation = useRef(0);
  const pages = useRef(1);
  const cursor = useRef<string | null>(null);

  const fetchPages = useCallback(async (count: number) => {
    const mine = ++generation.current;
    const items: T[] = [];
    let after: string | null = null;
    let hasMore = false;
    for (let i = 0; i < count; i++) {
      const { page, error } = await load(after);
      if (mine !== generation.current) return;
      if (!page) {
        setState((current) => ({ ...current, loading: false, error }));
        return;
      }
      items.push(...page.nodes);
      after = page.endCursor ?? null;
      hasMore = page.hasNextPage;
      if (!hasMore) break;
    }
    cursor.current = after;
    setState({ items, cursor: after, hasMore, pages: count, loading: false, error: null });
  }, [load]);

  const reload = useCallback(() => void fetchPages(pages.current), [fetchPages]);

  const loadMore = useCallback(() => {
    const mine = ++generation.current;
    void load(cursor.current).then(({ page, error }) => {
      if (mine !== generation.current) return;
      if (!page) return setState((current) => ({ ...current, error }));
      pages.current += 1;
      cursor.current = page.endCursor ?? null;
      setState((current) => ({
        items: [...current.items, ...page.nodes], cursor: page.endCursor ?? null, hasMore: page.hasNextPage, pages: pages.current, loading: false, error: null,
      }));
    });
  }, [load]);

  useEffect(() => {
    void fetchPages(pages.current);
  }, [fetchPages]);

  return { items: state.items, hasMore: state.hasMore, loading: state.loading, error: state.error, loadMore, reload };
}
