import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { usdAmount } from '../../money';
import { MANAGERS, type Member, type Role, ROLES, type Team } from '../../teams';
import { when } from '../../ui/dates';
import { FormError } from '../../ui/form';
import { asApiError } from '../../ui/useApi';

interface Props {
  team: Team;
  myRole: Role;
  changed: () => void;
}

/** Every member with their role, limit and spend this period; owners and admins change them here. */
export function Members({ team, myRole, changed }: Props) {
  const manager = MANAGERS.includes(myRole);
  return (
    <section class="team-section" aria-labelledby="members-heading">
      <h2 id="members-heading">Members</h2>
      <p>Shared balance: <strong>{usdAmount(team.balance_usd)}</strong></p>
      <div class="table-wrap">
        <table class="members">
          <caption class="visually-hidden">Team members</caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              <th scope="col" class="num">Spent / limit</th>
              <th scope="col">Joined</th>
              {manager && <th scope="col"><span class="visually-hidden">Actions</span></th>}
            </tr>
          </thead>
          <tbody>
            {team.members.map((member) => (
              <MemberRow key={member.user_id} member={member} myRole={myRole} manager={manager} changed={changed} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function MemberRow({ member, myRole, manager, changed }: { member: Member; myRole: Role; manager: boolean;
  changed: () => void }) {
  const [editing, setEditing] = useState(false);
  return (
    <>
      <tr>
        <th scope="row">{member.email}</th>
        <td>{member.role}</td>
        <td class="num">{usdAmount(member.spent_usd)}{' / '}
          {member.limit_usd ? `${usdAmount(member.limit_usd)}${member.limit_reset ? ` ${member.limit_reset}` : ''}`
            : 'no limit'}
        </td>
        <td>{when(member.joined_at)}</td>
        {manager && (
          <td>
            {(myRole === 'owner' || member.role !== 'owner') && (
              <button type="button" class="button" aria-expanded={editing}
                aria-label={`Change ${member.email}`} onClick={() => setEditing(!editing)}>
                {editing ? 'Close' : 'Change'}
              </button>
            )}
          </td>
        )}
      </tr>
      {editing && (
        <tr>
          <td colSpan={5}>
            <EditMember member={member} myRole={myRole} done={() => { setEditing(false); changed(); }} />
          </td>
        </tr>
      )}
    </>
  );
}

function EditMember({ member, myRole, done }: { member: Member; myRole: Role; done: () => void }) {
  const [role, setRole] = useState<Role>(member.role);
  const [limit, setLimit] = useState(member.limit_usd ?? '');
  const [reset, setReset] = useState(member.limit_reset ?? '');
  const [error, setError] = useState<ApiError>();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const id = `member-${member.user_id}`;
  const roles = ROLES.filter((name) => myRole === 'owner' || name !== 'owner');

  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    const limitUsd = limit.trim() || null;
    try {
      await api(`/team/members/${member.user_id}`, {
        method: 'PATCH', body: { role, limit_usd: limitUsd, ...(limitUsd ? { limit_reset: reset || null } : {}) },
      });
      done();
    } catch (failure) {
      setError(asApiError(failure));
    }
  };
  const remove = async () => {
    setError(undefined);
    try {
      await api(`/team/members/${member.user_id}`, { method: 'DELETE' });
      done();
    } catch (failure) {
      setError(asApiError(failure));
    }
  };

  return (
    <form onSubmit={save} class="member-form" aria-label={`Change ${member.email}`}>
      <div class="field">
        <label for={`${id}-role`}>Role</label>
        <select id={`${id}-role`} value={role} onChange={(event) => setRole(event.currentTarget.value as Role)}>
          {roles.map((name) => <option key={name} value={name}>{name}</option>)}
        </select>
      </div>
      <div class="field">
        <label for={`${id}-limit`}>Spending limit (USD)</label>
        <input id={`${id}-limit`} value={limit} inputMode="decimal" placeholder="No limit"
          onInput={(event) => setLimit(event.currentTarget.value)} />
      </div>
      <div class="field">
        <label for={`${id}-reset`}>Limit resets</label>
        <select id={`${id}-reset`} value={reset} onChange={(event) => setReset(event.currentTarget.value)}>
          <option value="">Never</option>
          <option value="daily">Daily</option>
          <option value="weekly">Weekly</option>
          <option value="monthly">Monthly</option>
        </select>
      </div>
      <FormError error={error} />
      <div class="actions">
        <button type="submit" class="button">Save</button>
        {confirmRemove
          ? <button type="button" class="button button-danger" onClick={remove}>
              Yes, remove {member.email} and revoke their keys
            </button>
          : <button type="button" class="button" onClick={() => setConfirmRemove(true)}>Remove from team</button>}
      </div>
    </form>
  );
}
