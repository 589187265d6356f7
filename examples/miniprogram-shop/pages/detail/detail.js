const md = require('maidian');
const { bySku } = require('../../utils/catalog.js');

Page({
  data: { product: null, quantity: 1, cartCount: 0, from: '' },

  onLoad(query) {
    this.setData({ product: bySku(query.sku), from: query.from || '' });
  },

  onShow() {
    this.setData({ cartCount: getApp().globalData.cart.length });
  },

  onPlus() {
    this.setData({ quantity: this.data.quantity + 1 });
  },

  onMinus() {
    this.setData({ quantity: Math.max(1, this.data.quantity - 1) });
  },

  onAddToCart() {
    const { product, quantity, from } = this.data;
    if (!product) return;
    getApp().addToCart(product, quantity);
    // Code-tracked business event, declared by the product team.
    md.track('add_to_cart', { sku: product.sku, category: product.category, price: product.price, quantity, from });
    this.setData({ cartCount: getApp().globalData.cart.length });
    wx.showToast({ title: 'Added' });
  },

  onGoCart() {
    wx.navigateTo({ url: '/pages/cart/cart' });
  },

  onShareAppMessage() {
    const { product } = this.data;
    return { title: product ? product.name : 'maidian shop', path: `/pages/detail/detail?sku=${product ? product.sku : ''}` };
  },
});
