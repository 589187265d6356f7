/**
 * What `taro build --type weapp` (Taro CLI 3.6.40, webpack 5, React) emits for the page
 * `src/pages/index/index.jsx` below: the page module, then the taro-loader page entry
 * `Page(createPageConfig(Component, 'pages/index/index', { root: { cn: [] } }, config))`.
 * `<View>` of @tarojs/components is the string `'view'` in mini-program builds.
 *
 * src/pages/index/index.jsx:
 *   import md from 'maidian/miniprogram'
 *   import { Component } from 'react'
 *   import { View } from '@tarojs/components'
 *   export default class Index extends Component {
 *     state = { added: 0 }
 *     componentDidShow () { hostLog.push(['Index.componentDidShow']) }
 *     componentDidHide () { hostLog.push(['Index.componentDidHide']) }
 *     onAdd = (e) => {
 *       hostLog.push(['Index.onAdd', e.currentTarget.id])
 *       this.setState({ added: this.state.added + 1 })
 *       md.track('add_to_cart', { sku: 'TEA-1', quantity: 1 })
 *       return 'added:TEA-1'
 *     }
 *     onShareAppMessage () { return { title: 'Tea', path: '/pages/index/index?sku=TEA-1' } }
 *     render () {
 *       return (
 *         <View className='page'>
 *           <View id='tea-1' className='card md-expose' onClick={this.onAdd}>Tea {this.state.added}</View>
 *         </View>
 *       )
 *     }
 *   }
 */
'use strict';

const vendors = require('../../vendors.js');

// ---- src/pages/index/index.jsx
const md = vendors.md;
const h = vendors.React.createElement;

class Index extends vendors.React.Component {
  constructor(props) {
    super(props);
    this.state = { added: 0 };
    this.onAdd = (e) => {
      hostLog.push(['Index.onAdd', e.currentTarget.id]);
      this.setState({ added: this.state.added + 1 });
      md.track('add_to_cart', { sku: 'TEA-1', quantity: 1 });
      return 'added:TEA-1';
    };
  }
  componentDidShow() {
    hostLog.push(['Index.componentDidShow']);
  }
  componentDidHide() {
    hostLog.push(['Index.componentDidHide']);
  }
  onShareAppMessage() {
    return { title: 'Tea', path: '/pages/index/index?sku=TEA-1' };
  }
  render() {
    return h(
      'view',
      { className: 'page' },
      h('view', { id: 'tea-1', className: 'card md-expose', onClick: this.onAdd }, 'Tea ', this.state.added),
    );
  }
}

// ---- the taro-loader page entry
const pageConfig = { navigationBarTitleText: 'Home' };
Page(
  vendors.runtime.createPageConfig(Index, 'pages/index/index', { root: { cn: [] } }, pageConfig),
);
