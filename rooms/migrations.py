"""Versioned schema of the embedded SQLite store; applied in order, recorded in user_version."""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

#: Each entry brings the schema from version i to i + 1. Never edit a released
#: entry: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        model TEXT NOT NULL,
        starts_us INTEGER NOT NULL,
        ends_us INTEGER NOT NULL,
        external_ref TEXT,
        status TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        cancelled_us INTEGER,
        version INTEGER NOT NULL
    );
    CREATE INDEX rooms_by_tenant_start ON rooms (tenant, starts_us, id);
    CREATE INDEX rooms_by_tenant_ref ON rooms (tenant, external_ref);
    CREATE TABLE participants (
        id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms (id),
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        party TEXT NOT NULL,
        jti TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        removed_us INTEGER,
        seq INTEGER NOT NULL
    );
    CREATE INDEX participants_by_room ON participants (room_id, seq);
    CREATE TABLE idempotency (
        tenant TEXT NOT NULL,
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        PRIMARY KEY (tenant, scope, key)
    );
    CREATE INDEX idempotency_by_age ON idempotency (created_us);
    """,
    # 2: admission decisions (rooms.admissions): who let a waiting participant in or turned them away.
    # Append-only; id orders them (the latest per participant is shown). "by" is a keyword: decided_by.
    """
    CREATE TABLE admissions (
        id INTEGER PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms (id),
        participant_id TEXT NOT NULL REFERENCES participants (id),
        outcome TEXT NOT NULL CHECK (outcome IN ('admitted', 'denied')),
        decided_by TEXT NOT NULL,
        at_us INTEGER NOT NULL
    );
    CREATE INDEX admissions_by_room ON admissions (room_id, participant_id, id);
    """,
    # 3: room events (rooms.events), each room's an append-only hash chain (rooms.audit): the audit
    # trail, and the outbox webhook deliveries are queued from. body is the event's canonical JSON;
    # audit_heads holds each room's last entry, written with it, so a deleted last entry shows.
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        room_id TEXT NOT NULL REFERENCES rooms (id),
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        UNIQUE (room_id, seq)
    );
    CREATE INDEX events_by_tenant ON events (tenant, id);
    CREATE TABLE audit_heads (
        room_id TEXT PRIMARY KEY REFERENCES rooms (id),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
    );
    """,
    # 4: webhooks (rooms.webhooks). Endpoints of each tenant with their signing secrets (the previous one
    # kept for the rotation overlap); messages are the durable outbox, one row per endpoint and event,
    # queued in the event's own transaction; attempts are the delivery log. event_types NULL = every type.
    """
    CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        url TEXT NOT NULL,
        event_types TEXT,
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        disabled_reason TEXT,
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_until_us INTEGER,
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    );
    CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant, enabled, created_us);
    CREATE TABLE webhook_messages (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE,
        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        event_id INTEGER REFERENCES events (id),
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        round_attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_us INTEGER,
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    );
    CREATE INDEX webhook_messages_due ON webhook_messages (status, next_attempt_us, id);
    CREATE INDEX webhook_messages_by_endpoint ON webhook_messages (endpoint_id, id);
    CREATE TABLE webhook_attempts (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
        at_us INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        status_code INTEGER,
        latency_us INTEGER NOT NULL,
        error TEXT
    );
    CREATE INDEX webhook_attempts_by_message ON webhook_attempts (message_id, id);
    """,
    # The dispatcher's claim reads each endpoint's next due messages by this index: a few index
    # seeks per endpoint however long the outbox is (it ranked every waiting message before).
    """
    CREATE INDEX webhook_messages_due_by_endpoint ON webhook_messages (endpoint_id, status, next_attempt_us, id);
    """,
    # 6: pre-call check results (telemed.precheck.store): what a participant's browser found before the visit
    # (devices, round trip, upstream) and the server's verdict. A few per participant (the latest is shown).
    """
    CREATE TABLE prechecks (
        id INTEGER PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms (id),
        participant_id TEXT NOT NULL REFERENCES participants (id),
        camera INTEGER NOT NULL CHECK (camera IN (0, 1)),
        microphone INTEGER NOT NULL CHECK (microphone IN (0, 1)),
        speaker INTEGER CHECK (speaker IN (0, 1)),
        rtt_ms INTEGER,
        upstream_kbps INTEGER,
        verdict TEXT NOT NULL CHECK (verdict IN ('video', 'audio_only', 'not_working')),
        advice TEXT NOT NULL,
        at_us INTEGER NOT NULL
    );
    CREATE INDEX prechecks_by_participant ON prechecks (room_id, participant_id, id);
    CREATE INDEX prechecks_by_age ON prechecks (at_us);
    """,
    # 7: a consultation's record (telemed.visit_records): the visit timer's totals, and once the clinician
    # completes it the outcome code and the short note (readable only with the tenant's API key), once.
    """
    CREATE TABLE visit_outcomes (
        room_id TEXT PRIMARY KEY REFERENCES rooms (id),
        tenant TEXT NOT NULL,
        started_us INTEGER,
        in_call_us INTEGER NOT NULL DEFAULT 0,
        outcome TEXT CHECK (outcome IS NULL OR outcome IN
            ('completed', 'in_person_needed', 'no_show', 'technical_failure')),
        note TEXT,
        completed_by TEXT,
        completed_us INTEGER,
        updated_us INTEGER NOT NULL
    );
    """,
    # 8: clinics (telemed.clinic_store): a tenant's clinics, their clinicians (ids of the scheduling system;
    # removed ones kept with removed_us), versioned consent texts, the visits booked for a clinic (room ->
    # clinic, clinician, patient participant), the clinicians made hosts of a visit, and each patient's
    # acceptance of the consent text (which version, when).
    """
    CREATE TABLE clinics (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    );
    CREATE INDEX clinics_by_tenant ON clinics (tenant, created_us, id);
    CREATE TABLE clinicians (
        clinic_id TEXT NOT NULL REFERENCES clinics (id),
        id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        seq INTEGER NOT NULL,
        removed_us INTEGER,
        PRIMARY KEY (clinic_id, id)
    );
    CREATE TABLE consent_versions (
        clinic_id TEXT NOT NULL REFERENCES clinics (id),
        version INTEGER NOT NULL,
        text TEXT NOT NULL,
        language TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        PRIMARY KEY (clinic_id, version)
    );
    CREATE TABLE visits (
        room_id TEXT PRIMARY KEY REFERENCES rooms (id),
        clinic_id TEXT NOT NULL REFERENCES clinics (id),
        clinician_id TEXT,
        patient_id TEXT NOT NULL,
        created_us INTEGER NOT NULL
    );
    CREATE INDEX visits_by_clinic ON visits (clinic_id, room_id);
    CREATE TABLE visit_hosts (
        room_id TEXT NOT NULL REFERENCES visits (room_id),
        clinician_id TEXT NOT NULL,
        participant_id TEXT NOT NULL,
        PRIMARY KEY (room_id, clinician_id)
    );
    CREATE TABLE consents (
        id INTEGER PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES visits (room_id),
        participant_id TEXT NOT NULL,
        clinic_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        at_us INTEGER NOT NULL
    );
    CREATE INDEX consents_by_participant ON consents (room_id, participant_id, id);
    """,
    # 9: guest invites (rooms.guest_invites): one-time links a host or the integrator makes for a guest
    # (interpreter, family member, second clinician). Only the code's SHA-256 is kept; a redemption sets
    # used_us and participant_id in the transaction that adds the guest, whose row names its invite.
    """
    CREATE TABLE guest_invites (
        id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms (id),
        code_hash TEXT NOT NULL UNIQUE,
        purpose TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        expires_us INTEGER NOT NULL,
        used_us INTEGER,
        participant_id TEXT,
        revoked_us INTEGER
    );
    CREATE INDEX guest_invites_by_room ON guest_invites (room_id, created_us);
    ALTER TABLE participants ADD COLUMN invite_id TEXT;
    """,
    # 10: retention (rooms.retention): when a room's title, names and packages' details were erased.
    """
    ALTER TABLE rooms ADD COLUMN purged_us INTEGER;
    CREATE INDEX rooms_by_kind_end ON rooms (kind, purged_us, ends_us);
    """,
)
