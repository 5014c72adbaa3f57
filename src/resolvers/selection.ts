import {
  Kind,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

/**
 * The selection sets of the fields named `name` directly inside `sets`, through inline
 * fragments and named fragments too, whatever their type condition or directives; a leaf
 * field counts with an empty selection set.
 */
function fieldSets(
  fragments: Record<string, FragmentDefinitionNode>,
  sets: readonly SelectionSetNode[],
  name: string,
): SelectionSetNode[] {
  const out: SelectionSetNode[] = [];
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): void => {
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value === name) out.push(sel.selectionSet ?? EMPTY);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        walk(fragments[sel.name.value]?.selectionSet);
      }
    }
  };
  for (const set of sets) walk(set);
  return out;
}
const EMPTY: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: [] };

/**
 * Whether the field being resolved selects the field path `path` (e.g. `['edges', 'node',
 * 'members']`), through inline and named fragments at every level: used to skip work a query
 * did not ask for, e.g. a connection's `totalCount` (issue 9, P1). Errs towards true
 * (`@skip`/`@include` are not evaluated).
 */
export function selectsPath(info: GraphQLResolveInfo, path: readonly string[]): boolean {
  let sets: SelectionSetNode[] = [];
  for (const node of info.fieldNodes) if (node.selectionSet) sets.push(node.selectionSet);
  for (const name of path) {
    sets = fieldSets(info.fragments, sets, name);
    if (!sets.length) return false;
  }
  return true;
}

/** Whether the field being resolved selects `name` directly: {@link selectsPath} of one step. */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  return selectsPath(info, [name]);
}
