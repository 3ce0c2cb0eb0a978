/** State → HubSpot's JSON shapes (SimplePublicObject, File, Folder). */
import { iso, type HubSpotStore } from './store';
import { ASSOCIATION_TYPES, objectTypeFrom, type ObjectTypeDef } from './schema';
import type { HubSpotFile, HubSpotFolder, HubSpotObject, HubSpotObjectType } from './types';

/** The sample portal ("Hub ID"); appears in file URLs. */
export const HUBSPOT_SAMPLE_PORTAL_ID = '24681357';

export interface ObjectView {
  /** Every stored property (create/update answers). */
  all?: boolean;
  /** The properties the request named; unknown names are ignored, unset ones are null. */
  properties?: string[];
  /** Object types whose associations to include, e.g. ["contacts"]. */
  associations?: string[];
}

export function objectJson(store: HubSpotStore, def: ObjectTypeDef, o: HubSpotObject, view: ObjectView = {}): Record<string, unknown> {
  let properties: Record<string, string | null>;
  if (view.all) {
    properties = { ...o.properties };
  } else {
    const requested = view.properties?.length ? [...view.properties, ...def.alwaysReturned] : def.defaultProperties;
    properties = {};
    for (const name of requested) {
      if (name === 'hs_object_id' || Object.hasOwn(def.properties, name)) properties[name] = o.properties[name] ?? null;
    }
  }
  const out: Record<string, unknown> = {
    id: o.id,
    properties,
    createdAt: iso(o.createdAt),
    updatedAt: iso(o.updatedAt),
    archived: o.archived,
    ...(o.archivedAt !== null ? { archivedAt: iso(o.archivedAt) } : {}),
  };
  const assoc: Record<string, unknown> = {};
  for (const raw of view.associations ?? []) {
    const other = objectTypeFrom(raw);
    if (!other) continue;
    const results = store.associatedIds(def.name, o.id, other.name).map((id) => ({ id, type: labelBetween(def.name, other.name) }));
    if (results.length) assoc[other.name] = { results };
  }
  if (Object.keys(assoc).length) out.associations = assoc;
  return out;
}

function labelBetween(from: HubSpotObjectType, to: HubSpotObjectType): string {
  return ASSOCIATION_TYPES.find((a) => a.from === from && a.to === to)?.label ?? `${from}_to_${to}`;
}

export function fileUrl(origin: string, file: HubSpotFile): string {
  return `${origin}/hubfs/${HUBSPOT_SAMPLE_PORTAL_ID}${file.path.split('/').map(encodeURIComponent).join('/')}`;
}

export function fileJson(file: HubSpotFile, origin: string): Record<string, unknown> {
  const url = fileUrl(origin, file);
  return {
    id: file.id,
    createdAt: iso(file.createdAt),
    updatedAt: iso(file.updatedAt),
    archived: file.archived,
    ...(file.parentFolderId ? { parentFolderId: file.parentFolderId } : {}),
    name: file.name,
    path: file.path,
    size: file.size,
    type: file.type,
    extension: file.extension,
    defaultHostingUrl: url,
    url,
    isUsableInContent: true,
    access: file.access,
    fileMd5: file.md5,
    sourceGroup: 'CONTENT',
    ...(file.expiresAt !== null ? { expiresAt: file.expiresAt } : {}),
  };
}

export function folderJson(folder: HubSpotFolder): Record<string, unknown> {
  return {
    id: folder.id,
    createdAt: iso(folder.createdAt),
    updatedAt: iso(folder.updatedAt),
    archived: folder.archived,
    ...(folder.parentFolderId ? { parentFolderId: folder.parentFolderId } : {}),
    name: folder.name,
    path: folder.path,
  };
}
