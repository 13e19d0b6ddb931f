import { useState } from 'preact/hooks';
import { api, type ApiError } from '../api';
import { useSession } from '../session';
import { accountLabel, MANAGERS, type Membership, type Team as TeamData, ROLE_SUMMARY, switchAccount } from '../teams';
import { Field, FormError, Submit } from '../ui/form';
import { PageHeader } from '../ui/layout';
import { ErrorNotice, Loading } from '../ui/states';
import { asApiError, useApi } from '../ui/useApi';
import { Invitations } from './team/Invitations';
import { Members } from './team/Members';

export default function Team() {
  const accounts = useApi<Membership[]>('/account/memberships');
  if (accounts.error) return <><PageHeader title="Team" /><ErrorNotice error={accounts.error} retry={accounts.reload} /></>;
  if (!accounts.data) return <><PageHeader title="Team" /><Loading label="Loading your accounts" rows={3} /></>;
  const active = accounts.data.find((account) => account.active);
  const teams = accounts.data.filter((account) => account.kind === 'team');
  return active?.kind === 'team' ? <ActiveTeam membership={active} /> : <NoTeam teams={teams} />;
}

function ActiveTeam({ membership }: { membership: Membership }) {
  const team = useApi<TeamData>('/team');
  const manager = MANAGERS.includes(membership.role);
  return (
    <>
      <PageHeader title="Team">
        <strong>{accountLabel(membership)}</strong>. Members share the team's balance; each has a role and may have a spending limit of their own. Your role
        is <strong>{membership.role}</strong>: {ROLE_SUMMARY[membership.role]}.
      </PageHeader>
      {team.error ? <ErrorNotice error={team.error} retry={team.reload} />
        : !team.data ? <Loading label="Loading the team" rows={4} />
        : <Members team={team.data} myRole={membership.role} changed={team.reload} />}
      {manager && <Invitations joined={team.reload} />}
      <CreateTeam />
    </>
  );
}

function NoTeam({ teams }: { teams: Membership[] }) {
  const { retry } = useSession();
  const [error, setError] = useState<ApiError>();
  const open = async (accountId: string) => {
    try {
      await switchAccount(accountId);
      retry();
    } catch (failure) {
      setError(asApiError(failure));
    }
  };
  return (
    <>
      <PageHeader title="Team">
        A team is an account of its own: a shared balance, members with roles (owner, admin, developer, billing,
        viewer), per-member spending limits, and keys that belong to the team.
      </PageHeader>
      {teams.length > 0 && (
        <section class="card" aria-labelledby="your-teams-heading">
          <h2 id="your-teams-heading">Your teams</h2>
          <p>You are acting in your personal account. Switch to a team to see its members.</p>
          <FormError error={error} />
          <ul class="plain team-list">
            {teams.map((team) => (
              <li key={team.account_id}>
                <button type="button" class="button" onClick={() => open(team.account_id)}>
                  Open {accountLabel(team)} ({team.role})
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <CreateTeam />
    </>
  );
}

function CreateTeam() {
  const { retry } = useSession();
  const [name, setName] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('/teams', { method: 'POST', body: { name: name.trim() } });
      retry();   // the session now acts in the new team
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="create-team-heading">
      <h2 id="create-team-heading">Create a team</h2>
      <p>You become its owner, and the console switches to it. Add credit to it, then invite your colleagues.</p>
      <form onSubmit={submit} class="narrow">
        <Field label="Team name" name="name" value={name} onInput={setName} required error={error} />
        <FormError error={error} fields={['name']} />
        <Submit busy={busy}>{busy ? 'Creating…' : 'Create team'}</Submit>
      </form>
    </section>
  );
}
