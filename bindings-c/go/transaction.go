package kafka

import (
	"context"
	"errors"
	"io"
	"time"
)

// Transactions (not in kafka-go), in the Writer's style. A Writer with a TransactionalID writes
// inside transactions; what a transaction wrote becomes visible to readers with IsolationLevel
// ReadCommitted only when it commits, and disappears for them when it aborts. SendOffsets adds
// a group Reader's progress to the transaction, for exactly-once consume-transform-produce:
//
//	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: "g", Topic: "in",
//		IsolationLevel: kafka.ReadCommitted})
//	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "out", TransactionalID: "g-out"}
//	for {
//		m, err := r.FetchMessage(ctx)             // not ReadMessage: the transaction commits
//		...
//		err = w.BeginTransaction()
//		err = w.WriteMessages(ctx, transform(m))
//		err = w.SendOffsets(ctx, r, m)             // commits m.Offset+1 with the transaction
//		err = w.CommitTransaction(ctx)             // or AbortTransaction(ctx) on error
//	}
//
// The first BeginTransaction registers the id with the cluster (fencing an older Writer with
// the same id and aborting what it left open). A synchronous WriteMessages inside a
// transaction still waits for its batch (BatchTimeout); CommitTransaction flushes anyway, so an
// Async Writer or a short BatchTimeout suits transactions.

// txnTimeout bounds transactional calls.
func (w *Writer) txnTimeout() time.Duration {
	return w.writeTimeout() * 3
}

func (w *Writer) txnProducer() (*nativeProducer, error) {
	if w.TransactionalID == "" {
		return nil, errors.New("kafka.(*Writer): transactions need a TransactionalID")
	}
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return nil, io.ErrClosedPipe
	}
	if w.Addr == nil {
		return nil, errors.New("kafka.(*Writer): cannot create a kafka writer with a nil address")
	}
	return w.producer()
}

// BeginTransaction starts a transaction. The first call also registers the TransactionalID.
func (w *Writer) BeginTransaction() error {
	p, err := w.txnProducer()
	if err != nil {
		return err
	}
	w.txnMu.Lock()
	defer w.txnMu.Unlock()
	if !w.txnInited {
		if err := p.initTransactions(w.txnTimeout()); err != nil {
			return err
		}
		w.txnInited = true
	}
	return p.beginTransaction()
}

// SendOffsets adds offset+1 of the highest of msgs per partition to the transaction, as the
// committed offsets of r's group: they are committed if and only if the transaction commits.
// r must have a GroupID (its generation lets the coordinator fence a zombie member); msgs come
// from r.FetchMessage.
func (w *Writer) SendOffsets(ctx context.Context, r *Reader, msgs ...Message) error {
	p, err := w.txnProducer()
	if err != nil {
		return err
	}
	c, err := r.groupConsumer()
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	highest := map[topicPartition]int64{}
	for _, m := range msgs {
		tp := topicPartition{m.Topic, m.Partition}
		if o, ok := highest[tp]; !ok || m.Offset+1 > o {
			highest[tp] = m.Offset + 1
		}
	}
	_, err = run(ctx, func() (struct{}, error) {
		return struct{}{}, p.sendOffsets(offsetList(highest), c, "", w.txnTimeout())
	})
	return err
}

// CommitTransaction waits for the transaction's messages, then commits it. An error that
// requires an abort (a message failed) says so: errors.As(err, &*ClientError) with
// TxnRequiresAbort; call AbortTransaction then.
func (w *Writer) CommitTransaction(ctx context.Context) error {
	return w.endTransaction(ctx, true)
}

// AbortTransaction aborts the transaction: its messages are discarded for ReadCommitted
// readers and its offsets are not committed.
func (w *Writer) AbortTransaction(ctx context.Context) error {
	return w.endTransaction(ctx, false)
}

func (w *Writer) endTransaction(ctx context.Context, commit bool) error {
	p, err := w.txnProducer()
	if err != nil {
		return err
	}
	// Writes still being queued belong to this transaction: wait for them to be queued.
	w.sending.Wait()
	_, err = run(ctx, func() (struct{}, error) {
		return struct{}{}, p.endTransaction(commit, w.txnTimeout())
	})
	return err
}
