import { useState } from 'preact/hooks';
import type { Model } from '../../api';
import { PageHeader } from '../../ui/layout';
import { ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import { ChatPlayground } from './Chat';
import { ImagePlayground } from './Images';
import { type StudioKey, useStudioKey } from './studioKey';
import { TabList, TabPanel } from './Tabs';

type Playground = 'chat' | 'images';
const TABS: { id: Playground; label: string }[] = [{ id: 'chat', label: 'Chat' }, { id: 'images', label: 'Images' }];

export default function Studio() {
  const key = useStudioKey();
  const models = useApi<{ data: Model[] }>('/models');
  const [tab, setTab] = useState<Playground>('chat');

  return (
    <>
      <PageHeader title="Studio">
        Try any model in the browser. Requests go through the same API your code calls, paid from your account's
        credits, with its limits.
      </PageHeader>
      <KeyNotice studioKey={key} />
      {key.state.status === 'ready' && (models.error ? <ErrorNotice error={models.error} retry={models.reload} />
        : !models.data ? <Loading label="Loading the models" rows={3} />
        : <>
            <TabList name="studio" label="Playground" tabs={TABS} selected={tab} select={setTab} />
            <TabPanel name="studio" id="chat" selected={tab === 'chat'}>
              <ChatPlayground models={models.data.data.filter((model) => model.kind === 'chat')} call={key.call} />
            </TabPanel>
            <TabPanel name="studio" id="images" selected={tab === 'images'}>
              <ImagePlayground models={models.data.data.filter((model) => model.kind === 'image')} call={key.call} />
            </TabPanel>
          </>)}
    </>
  );
}

/** What stands between the user and the Studio, in words: the terms to accept, or an error. */
function KeyNotice({ studioKey: { state, acceptTerms, retry } }: { studioKey: StudioKey }) {
  switch (state.status) {
    case 'loading':
      return <Loading label="Opening the Studio" rows={2} />;
    case 'ready':
      return <p class="hint studio-key-note">The Studio calls the API with a key named “Studio (console)” that
        lasts an hour, is kept in this page only, and is revoked when you sign out.</p>;
    case 'terms':
      return (
        <section class="card notice-terms" aria-labelledby="terms-heading">
          <h2 id="terms-heading">Accept the terms of service first</h2>
          <p>{state.error.message}</p>
          <p>The Studio calls the API with a key of your account, and a new key needs the terms in effect
            accepted.</p>
          <button type="button" class="button button-primary studio-accept" onClick={acceptTerms}>
            Accept the terms and open the Studio
          </button>
        </section>
      );
    case 'error':
      return <ErrorNotice error={state.error} retry={retry} />;
  }
}
