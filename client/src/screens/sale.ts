// The sale screens, in their own chunk (see App.tsx).
export { SeatsPage } from './SeatsPage';
export { Checkout } from './Checkout';
export { Confirmation } from './Confirmation';
export { MyBookings } from './MyBookings';
