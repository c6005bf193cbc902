import { Observable, Observer, Operator, Subscriber, Subscription, TeardownLogic } from 'rxjs';

/**
 * An Observable whose subscribers cannot hurt the server: an exception thrown by
 * a subscriber's `next`/`error`/`complete` (or by an operator in a `pipe` of it)
 * is handed to `onSubscriberError` instead of being rethrown by rxjs, which
 * would crash the process. Operators applied with `pipe` keep this type
 * (rxjs 7 builds them with `lift`, which is overridden here as `Subject` does).
 */
export class IMEventStream<T> extends Observable<T> {
  constructor(
    private readonly onSubscriberError: (err: unknown) => void,
    subscribe?: (this: Observable<T>, subscriber: Subscriber<T>) => TeardownLogic,
  ) {
    super(subscribe);
  }

  /** @internal rxjs builds piped operators through `lift`: keep them isolated too. */
  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const lifted = new IMEventStream<R>(this.onSubscriberError);
    // rxjs's own `lift` does exactly this; the two fields are deprecated for users, not for subclasses.
    (lifted as unknown as { source: Observable<T> }).source = this;
    (lifted as unknown as { operator?: Operator<T, R> }).operator = operator;
    return lifted;
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null): Subscription {
    const o: Partial<Observer<T>> = typeof observerOrNext === 'function' ? { next: observerOrNext } : observerOrNext ?? {};
    const report = this.onSubscriberError;
    return super.subscribe({
      next: (v) => {
        try {
          o.next?.(v);
        } catch (err) {
          report(err);
        }
      },
      // Without an error callback rxjs would rethrow asynchronously (fatal): report instead.
      error: (e) => {
        try {
          if (o.error) o.error(e);
          else report(e);
        } catch (err) {
          report(err);
        }
      },
      complete: () => {
        try {
          o.complete?.();
        } catch (err) {
          report(err);
        }
      },
    });
  }
}
