/**
 * The property definitions of each object type (a small, realistic subset of a HubSpot
 * portal's defaults), the default properties returned when a request names none, and the
 * HUBSPOT_DEFINED association types between the types this emulator knows.
 *
 * Like HubSpot, writing a property that does not exist is a 400 (PROPERTY_DOESNT_EXIST), so a
 * connector with a typo in a property name fails here as it would against a real portal.
 */
import type { HubSpotObjectType } from './types';

export type PropertyType = 'string' | 'enumeration' | 'datetime' | 'number' | 'email' | 'phone';

export interface PropertyDef {
  type: PropertyType;
  /** enumeration: the internal values allowed. */
  options?: readonly string[];
  /** Set by the CRM; writing it is a READ_ONLY_VALUE error. */
  readOnly?: boolean;
}

export interface ObjectTypeDef {
  name: HubSpotObjectType;
  singular: 'contact' | 'ticket' | 'note';
  /** HubSpot's object type id, also accepted in paths (/crm/v3/objects/0-1). */
  objectTypeId: string;
  properties: Readonly<Record<string, PropertyDef>>;
  /** Returned by GET and search when the request asks for no properties. */
  defaultProperties: readonly string[];
  /** Always returned next to the requested properties. */
  alwaysReturned: readonly string[];
  /** Matched by the free-text `query` of a search. */
  searchable: readonly string[];
  /** Required on create, with HubSpot's message. */
  required: readonly string[];
  createdProperty: string;
  modifiedProperty: string;
}

const s: PropertyDef = { type: 'string' };
const ro = (type: PropertyType = 'string'): PropertyDef => ({ type, readOnly: true });
const owner: PropertyDef = { type: 'number' };

/** The default ticket pipeline ("Support Pipeline", id "0") and its stages. */
export const TICKET_PIPELINE = '0';
export const TICKET_STAGES: Readonly<Record<string, string>> = {
  '1': 'New',
  '2': 'Waiting on contact',
  '3': 'Waiting on us',
  '4': 'Closed',
};
export const CLOSED_STAGE = '4';

export const OBJECT_TYPES: Readonly<Record<HubSpotObjectType, ObjectTypeDef>> = {
  contacts: {
    name: 'contacts',
    singular: 'contact',
    objectTypeId: '0-1',
    properties: {
      firstname: s,
      lastname: s,
      email: { type: 'email' },
      phone: { type: 'phone' },
      mobilephone: { type: 'phone' },
      company: s,
      jobtitle: s,
      website: s,
      address: s,
      city: s,
      state: s,
      zip: s,
      country: s,
      lifecyclestage: {
        type: 'enumeration',
        options: ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'],
      },
      hs_lead_status: {
        type: 'enumeration',
        options: ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'],
      },
      hubspot_owner_id: owner,
      createdate: { type: 'datetime' },
      lastmodifieddate: ro('datetime'),
      hs_object_id: ro('number'),
      // Computed by HubSpot from `phone`: the national number, digits only (search by it to
      // match whatever format the phone was written in).
      hs_searchable_calculated_phone_number: ro(),
    },
    defaultProperties: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
    alwaysReturned: ['createdate', 'hs_object_id', 'lastmodifieddate'],
    searchable: ['firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company', 'hs_searchable_calculated_phone_number'],
    required: [],
    createdProperty: 'createdate',
    modifiedProperty: 'lastmodifieddate',
  },
  tickets: {
    name: 'tickets',
    singular: 'ticket',
    objectTypeId: '0-5',
    properties: {
      subject: s,
      content: s,
      hs_pipeline: { type: 'enumeration', options: [TICKET_PIPELINE] },
      hs_pipeline_stage: { type: 'enumeration', options: Object.keys(TICKET_STAGES) },
      hs_ticket_priority: { type: 'enumeration', options: ['LOW', 'MEDIUM', 'HIGH', 'URGENT'] },
      hs_ticket_category: { type: 'enumeration', options: ['PRODUCT_ISSUE', 'BILLING_ISSUE', 'FEATURE_REQUEST', 'GENERAL_INQUIRY'] },
      source_type: { type: 'enumeration', options: ['CHAT', 'EMAIL', 'FORM', 'PHONE'] },
      hubspot_owner_id: owner,
      createdate: { type: 'datetime' },
      closed_date: ro('datetime'),
      hs_lastmodifieddate: ro('datetime'),
      hs_object_id: ro('number'),
      // A custom property, as a portal admin creates it for the gateway (single-line text):
      // durable creates stamp their id here, and recovery searches by it.
      crm_gateway_marker: s,
    },
    defaultProperties: [
      'content',
      'createdate',
      'hs_lastmodifieddate',
      'hs_object_id',
      'hs_pipeline',
      'hs_pipeline_stage',
      'hs_ticket_category',
      'hs_ticket_priority',
      'subject',
    ],
    alwaysReturned: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    searchable: ['subject', 'content'],
    required: ['hs_pipeline_stage'],
    createdProperty: 'createdate',
    modifiedProperty: 'hs_lastmodifieddate',
  },
  notes: {
    name: 'notes',
    singular: 'note',
    objectTypeId: '0-46',
    properties: {
      hs_note_body: s,
      // Required: "marks the note's time of creation and determines where the note sits on
      // the record timeline" (Unix ms or ISO 8601).
      hs_timestamp: { type: 'datetime' },
      // File ids separated by semicolons.
      hs_attachment_ids: s,
      hubspot_owner_id: owner,
      hs_createdate: ro('datetime'),
      hs_lastmodifieddate: ro('datetime'),
      hs_object_id: ro('number'),
    },
    defaultProperties: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    alwaysReturned: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    searchable: ['hs_note_body'],
    required: ['hs_timestamp'],
    createdProperty: 'hs_createdate',
    modifiedProperty: 'hs_lastmodifieddate',
  },
};

/** "contacts", "contact", "0-1" → the type; undefined for anything else. */
export function objectTypeFrom(raw: string): ObjectTypeDef | undefined {
  const lower = raw.toLowerCase();
  return Object.values(OBJECT_TYPES).find((t) => t.name === lower || t.singular === lower || t.objectTypeId === lower);
}

export interface AssociationTypeDef {
  id: number;
  from: HubSpotObjectType;
  to: HubSpotObjectType;
  /** As GET …?associations= reports it, e.g. "ticket_to_contact". */
  label: string;
}

/** HUBSPOT_DEFINED association type ids between contacts, tickets and notes. */
export const ASSOCIATION_TYPES: readonly AssociationTypeDef[] = [
  { id: 15, from: 'contacts', to: 'tickets', label: 'contact_to_ticket' },
  { id: 16, from: 'tickets', to: 'contacts', label: 'ticket_to_contact' },
  { id: 201, from: 'contacts', to: 'notes', label: 'contact_to_note' },
  { id: 202, from: 'notes', to: 'contacts', label: 'note_to_contact' },
  { id: 227, from: 'tickets', to: 'notes', label: 'ticket_to_note' },
  { id: 228, from: 'notes', to: 'tickets', label: 'note_to_ticket' },
];

export function associationType(id: number): AssociationTypeDef | undefined {
  return ASSOCIATION_TYPES.find((a) => a.id === id);
}

/** The type id for the direction from → to. */
export function associationTypeBetween(from: HubSpotObjectType, to: HubSpotObjectType): AssociationTypeDef | undefined {
  return ASSOCIATION_TYPES.find((a) => a.from === from && a.to === to);
}
