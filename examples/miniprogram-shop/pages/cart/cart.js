const md = require('maidian');

Page({
  data: { lines: [], total: 0 },

  onShow() {
    const app = getApp();
    this.setData({ lines: app.globalData.cart.slice(), total: app.cartTotal() });
  },

  onPay() {
    const app = getApp();
    const lines = app.globalData.cart;
    if (!lines.length) return;
    const amount = app.cartTotal();
    md.track('begin_checkout', { amount, item_count: lines.length });
    // A real shop calls its backend and wx.requestPayment here; the example pays at once.
    const order = { order_id: `o-${Date.now().toString(36)}`, amount, items: lines.map((l) => l.sku) };
    md.track('pay_success', { order_id: order.order_id, amount, item_count: lines.length, skus: order.items });
    app.globalData.lastOrder = order;
    app.globalData.cart = [];
    wx.redirectTo({ url: `/pages/pay-success/pay-success?order=${order.order_id}` });
  },
});
