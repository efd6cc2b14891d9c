/**
 * concur-receipt-images: the receipt image(s) of a report or an expense as
 * Buffers with their content type (Spend Documents v4 for v4 reports, Image v1
 * for legacy keys). Thin adapter over concur/receipt-images.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs, numberIn } from '../shared/concur-action';
import { evaluateInputs, typedInput } from '../shared/typed-input';
import { RECEIPT_CONTEXTS, receiptImageV1, receiptImagesV4, type ReceiptContext, type ReceiptImage } from '../../concur/receipt-images';

interface Def extends NodeDef {
  server?: string;
  api?: string;
  context?: string;
  representation?: string;
  output?: string;
  maxImages?: number | string;
}

export = function (RED: RED) {
  function ConcurReceiptImages(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const legacy = def.api === 'image-v1';
    const context: ReceiptContext = (RECEIPT_CONTEXTS as readonly string[]).includes(String(def.context)) ? (def.context as ReceiptContext) : 'TRAVELER';
    const representation = def.representation === 'compliance' ? 'compliance' : 'display';
    const each = def.output !== 'array';
    const maxImages = numberIn(def.maxImages, 1, 500, 50);
    const inputs = {
      reportId: typedInput(def, { name: 'reportId', defaultValue: 'reportId', label: 'report id' }),
      userId: typedInput(def, { name: 'userId', defaultValue: 'userId', label: 'user id' }),
      expenseId: typedInput(def, { name: 'expenseId', defaultValue: 'expenseId', label: 'expense id' }),
      companyId: typedInput(def, { name: 'companyId', defaultValue: 'companyId', label: 'company id' }),
    };

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const v = await evaluateInputs(RED, node, msg, inputs);
        const correlationId = correlationIdOf(msg);
        const ev = (msg.concur as Record<string, any> | undefined)?.event;
        // An ESS event names the company; use it when no company id was given.
        const companyId = v.companyId ?? (ev && typeof ev === 'object' ? (ev.companyId ?? ev.facts?.companyId) : undefined);
        const images: ReceiptImage[] = legacy
          ? await receiptImageV1(api, { reportId: v.reportId, entryId: v.expenseId }, correlationId)
          : await receiptImagesV4(
              api,
              { reportId: v.reportId, userId: v.userId, context, expenseId: v.expenseId, companyId, representation, maxImages },
              correlationId,
            );
        const prev = msg.concur && typeof msg.concur === 'object' ? (msg.concur as Record<string, unknown>) : {};
        const info = (img: ReceiptImage) => ({
          expenseId: img.expenseId,
          imageId: img.imageId,
          contentType: img.contentType,
          bytes: img.data.length,
          source: img.source,
        });
        if (each) {
          images.forEach((img, i) => {
            const out = RED.util.cloneMessage(msg);
            // Same _msgid as the input (like the core split node), so flow-completion tracking covers every item.
            out.payload = img.data;
            out.contentType = img.contentType;
            out.receipt = info(img);
            // Nested like the core split node: an incoming msg.parts is kept inside.
            out.parts = { id: String(msg._msgid ?? ''), index: i, count: images.length, type: 'array', ...(msg.parts ? { parts: msg.parts } : {}) };
            out.concur = { ...prev, receipts: { count: images.length, index: i } };
            send(out);
          });
        } else {
          msg.payload = images.map((img) => ({ ...info(img), data: img.data }));
          msg.concur = { ...prev, receipts: { count: images.length } };
          send(msg);
        }
        return `${images.length} image(s)`;
      },
    );
  }
  RED.nodes.registerType('concur-receipt-images', ConcurReceiptImages);
};
