import { traceLink, type ShopConfig } from '../config';

/** A trace id, linked to the Zipkin UI when one is configured. */
export function TraceLink({ config, traceId }: { config: ShopConfig; traceId: string }) {
  const href = traceLink(config, traceId);
  const id = <code data-testid="trace-id">{traceId}</code>;
  return (
    <span className="trace">
      Trace{' '}
      {href ? (
        <a href={href} target="_blank" rel="noreferrer" aria-label={`Trace ${traceId} in Zipkin`}>
          {id}
        </a>
      ) : (
        id
      )}
    </span>
  );
}
