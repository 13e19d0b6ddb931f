import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { type Invitation, type Role, ROLES, type SentInvitation } from '../../teams';
import { when } from '../../ui/dates';
import { Field, FormError, Submit } from '../../ui/form';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { asApiError, useApi } from '../../ui/useApi';

/** Invite by email, and the invitations still pending (owners and admins only). */
export function Invitations({ joined }: { joined: () => void }) {
  const pending = useApi<Invitation[]>('/team/invitations');
  const sent = () => {
    pending.reload();
    joined();
  };
  return (
    <>
      <InviteForm sent={sent} />
      <section class="team-section" aria-labelledby="pending-heading">
        <h2 id="pending-heading">Pending invitations</h2>
        {pending.error ? <ErrorNotice error={pending.error} retry={pending.reload} />
          : !pending.data ? <Loading label="Loading invitations" rows={2} />
          : pending.data.length === 0 ? <EmptyState title="No pending invitations." />
          : <PendingTable invitations={pending.data} changed={pending.reload} />}
      </section>
    </>
  );
}

function InviteForm({ sent }: { sent: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const [limit, setLimit] = useState('');
  const [error, setError] = useState<ApiError>();
  const [result, setResult] = useState<SentInvitation>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      const invitation = await api<SentInvitation>('/team/invitations', {
        method: 'POST', body: { email, role, limit_usd: limit.trim() || null },
      });
      setResult(invitation);
      setEmail('');
      setLimit('');
      sent();
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <section class="card" aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite someone</h2>
      <p>They get an email with a link that works once, for 7 days. Without an AllToken account they sign up
        first, with that address.</p>
      <form onSubmit={submit} class="key-form">
        <Field label="Email" name="email" type="email" value={email} onInput={setEmail} required error={error} />
        <div class="field">
          <label for="field-role">Role</label>
          <select id="field-role" name="role" value={role}
            onChange={(event) => setRole(event.currentTarget.value as Role)}>
            {ROLES.map((name) => <option key={name} value={name}>{name}</option>)}
          </select>
        </div>
        <Field label="Spending limit in USD (optional)" name="limit_usd" value={limit} onInput={setLimit}
          placeholder="No limit" error={error} />
        <FormError error={error} fields={['email', 'limit_usd']} />
        <div><Submit busy={busy}>{busy ? 'Sending…' : 'Send invitation'}</Submit></div>
      </form>
      {result && (result.emailed
        ? <p class="notice notice-ok" role="status">Invitation emailed to {result.email}.</p>
        : <div class="notice" role="status">
            <p>This server sends no email, so pass this link to {result.email} yourself (it works only for that
              address):</p>
            <code class="secret-value">{result.accept_url}</code>
          </div>)}
    </section>
  );
}

function PendingTable({ invitations, changed }: { invitations: Invitation[]; changed: () => void }) {
  const [error, setError] = useState<ApiError>();
  const cancel = async (id: string) => {
    setError(undefined);
    try {
      await api(`/team/invitations/${id}`, { method: 'DELETE' });
      changed();
    } catch (failure) {
      setError(asApiError(failure));
    }
  };
  return (
    <>
      <FormError error={error} />
      <div class="table-wrap">
        <table class="invitations">
          <caption class="visually-hidden">Pending invitations</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Expires</th>
              <th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {invitations.map((invitation) => (
              <tr key={invitation.id}>
                <th scope="row">{invitation.email}</th>
                <td>{invitation.role}</td>
                <td>{when(invitation.expires_at)}</td>
                <td>
                  <button type="button" class="button" aria-label={`Cancel the invitation to ${invitation.email}`}
                    onClick={() => cancel(invitation.id)}>Cancel</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
