/**
 * `/`: the app registry, filtered by name, a page at a time ("Load more" follows
 * `pageInfo.endCursor`).
 */
import { useState } from 'react';
import { useQuery } from 'urql';
import { AppsDocument } from '../gql/graphql';
import { Link } from '../router';
import { ErrorList } from '../ErrorList';

const PAGE_SIZE = 20;

export function AppsPage() {
  const [name, setName] = useState('');
  const filter = name.trim() ? { name: name.trim() } : undefined;
  return (
    <section>
      <div className="page-head">
        <h1>Apps</h1>
        <input
          type="search"
          aria-label="Filter by name"
          placeholder="Filter by name"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
      </div>
      {/* A new filter starts again from the first page. */}
      <AppList key={filter?.name ?? ''} filter={filter} />
    </section>
  );
}

function AppList({ filter }: { filter?: { name: string } }) {
  // One cursor per loaded page; each page is its own query, so earlier pages stay cached.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return (
    <table className="apps">
      <thead>
        <tr>
          <th>Name</th>
          <th>Kind</th>
          <th>Replicas</th>
          <th>Description</th>
        </tr>
      </thead>
      {cursors.map((after, i) => (
        <AppsChunk
          key={after ?? 'first'}
          filter={filter}
          after={after}
          isLast={i === cursors.length - 1}
          onLoadMore={(next) => setCursors((c) => (c.includes(next) ? c : [...c, next]))}
        />
      ))}
    </table>
  );
}

function AppsChunk(props: {
  filter?: { name: string };
  after: string | null;
  isLast: boolean;
  onLoadMore: (cursor: string) => void;
}) {
  const [{ data, fetching, error }] = useQuery({
    query: AppsDocument,
    variables: { first: PAGE_SIZE, after: props.after, filter: props.filter },
  });
  const conn = data?.apps;
  return (
    <tbody>
      {conn?.edges.map(({ node }) => (
        <tr key={node.id}>
          <td>
            <Link href={`/apps/${encodeURIComponent(node.name)}`}>{node.name}</Link>
          </td>
          <td>
            <span className="badge">{node.kind}</span>
          </td>
          <td>{node.container.replicas}</td>
          <td className="muted">{node.description}</td>
        </tr>
      ))}
      {props.isLast && (
        <tr className="list-foot">
          <td colSpan={4}>
            <ErrorList error={error} />
            {fetching && !conn && <span className="muted">Loading…</span>}
            {conn && conn.totalCount === 0 && (
              <span className="muted">No apps{props.filter ? ' match this filter' : ' yet'}.</span>
            )}
            {conn && conn.totalCount > 0 && (
              <span className="muted">
                {conn.totalCount === 1 ? '1 app' : `${conn.totalCount} apps`}
              </span>
            )}
            {conn?.pageInfo.hasNextPage && conn.pageInfo.endCursor && (
              <button type="button" onClick={() => props.onLoadMore(conn.pageInfo.endCursor!)}>
                Load more
              </button>
            )}
          </td>
        </tr>
      )}
    </tbody>
  );
}
