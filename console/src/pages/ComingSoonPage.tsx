import { useLocation } from 'preact-iso';
import { PAGES } from '../pages';
import { PageHeader } from '../ui/layout';
import { ComingSoon } from '../ui/states';

/** A page listed in PAGES whose management API is not in this release yet. */
export function ComingSoonPage() {
  const { path } = useLocation();
  const page = PAGES.find((candidate) => candidate.path === path)!;
  return (
    <>
      <PageHeader title={page.label} />
      <ComingSoon title="What this page will do">
        <p>{page.soon?.summary}</p>
        {page.soon?.meanwhile}
      </ComingSoon>
    </>
  );
}
