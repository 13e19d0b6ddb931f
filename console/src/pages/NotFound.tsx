import { PageHeader } from '../ui/layout';
import { EmptyState } from '../ui/states';

export function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState title="There is no console page at this address.">
        <p><a href="/">Go to the overview</a></p>
      </EmptyState>
    </>
  );
}
