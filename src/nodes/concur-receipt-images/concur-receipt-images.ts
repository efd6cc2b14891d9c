/**
 * concur-receipt-images: the receipt image(s) of a report or an expense as
 * Buffers with their content type (Spend Documents v4 for v4 reports, Image v1
 * for legacy keys). Thin adapter over concur/receipt-images.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs, priorConcur, splitParts } from '../shared/concur-action';
import { numberOption, choiceOption } from '../shared/options';
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
    const context: ReceiptContext = choiceOption(RECEIPT_CONTEXTS, def.context, 'TRAVELER');
    const representation = def.representation === 'compliance' ? 'compliance' : 'display';
    const each = def.output !== 'array';
    const maxImages = numberOption('concur-receipt-images', 'maxImages', def.maxImages);
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
        const prev = priorConcur(msg);
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
            out.payload = img.data;
            out.contentType = img.contentType;
            out.receipt = info(img);
            out.parts = splitParts(msg, i, images.length);
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
